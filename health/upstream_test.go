package health

import (
	"context"
	"testing"
	"time"
)

// TestAcquireBackgroundLeavesAReserve: background work takes slots only
// while more than a quarter stay free, never waits, and leaves users'
// requests their slots.
func TestAcquireBackgroundLeavesAReserve(t *testing.T) {
	ups, err := NewUpstreams([]string{"http://127.0.0.1:1"}, Limits{MaxInFlight: 8})
	if err != nil {
		t.Fatal(err)
	}
	u := ups[0]
	var releases []func()
	for {
		release, ok := u.AcquireBackground()
		if !ok {
			break
		}
		releases = append(releases, release)
	}
	if len(releases) != 6 {
		t.Fatalf("background work took %d of 8 slots, want 6 (a reserve of 2)", len(releases))
	}
	for range 2 {
		release, err := u.Acquire(context.Background(), time.Millisecond)
		if err != nil {
			t.Fatalf("a user's request found no slot: %v", err)
		}
		defer release()
	}
	for _, r := range releases {
		r()
	}
	unlimited := &Upstream{Name: "u"}
	if _, ok := unlimited.AcquireBackground(); !ok {
		t.Error("an upstream without a cap refused background work")
	}
}
