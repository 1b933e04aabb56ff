package health

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestParseVersionList(t *testing.T) {
	got := ParseVersionList([]byte("v1.10.0\nv1.2.0 2024-01-02T03:04:05Z\n\n  \nlatest\nv1.2.0\nv1.0.0-pre\n"))
	if want := []string{"v1.0.0-pre", "v1.2.0", "v1.10.0"}; !slices.Equal(got, want) {
		t.Fatalf("ParseVersionList = %q, want %q", got, want)
	}
	if got := ParseVersionList(nil); len(got) != 0 {
		t.Fatalf("ParseVersionList(nil) = %q", got)
	}
}

func TestMissingVersions(t *testing.T) {
	own := []string{"v1.0.0", "v1.1.0"}
	got := MissingVersions(own, []string{"v1.0.0", "v1.1.0", "v1.2.0"}, []string{"v0.9.0", "v1.2.0"}, nil)
	if want := []string{"v0.9.0", "v1.2.0"}; !slices.Equal(got, want) {
		t.Fatalf("MissingVersions = %q, want %q", got, want)
	}
	if got := MissingVersions(own, []string{"v1.0.0"}); len(got) != 0 {
		t.Fatalf("a list with fewer versions made own stale: %q", got)
	}
}

// TestProbesFindStaleMirror: the preferred mirror's list of the probe
// module lacks the newest version the other lists. Once two of its list
// probes have missed it (the second or third round: in the first, the
// other's list may not have been seen yet) it is stale: degraded, scored
// worse, and no longer first; when it catches up, the next round clears it.
func TestProbesFindStaleMirror(t *testing.T) {
	stale, fresh := newMirror(t), newMirror(t)
	stale.set(pathList, body("v1.0.0\n"))
	p, pool, ups, clock := testProber(t, testProbeConfig(), stale.srv.URL, fresh.srv.URL)

	round := func() []ProbeResult {
		t.Helper()
		clock.Advance(15 * time.Second)
		return p.ProbeOnce(t.Context())
	}
	r := round()
	if r[0].Stale != nil || len(status(pool, ups[0]).Stale) != 0 {
		t.Fatalf("stale after one round: %q", r[0].Stale)
	}
	if got := fmt.Sprint(r[0].Endpoints[1].Versions, r[1].Endpoints[1].Versions); got != "[v1.0.0] [v1.0.0 v1.1.0]" {
		t.Fatalf("versions seen: %s", got)
	}
	// Both probe alike, so the preferred one leads.
	wantOrder(t, pool, ups[0].Name+","+ups[1].Name)

	if r = round(); r[0].Stale == nil {
		r = round()
	}
	if want := []string{"v1.1.0"}; !slices.Equal(r[0].Stale, want) || r[1].Stale != nil {
		t.Fatalf("after three rounds: stale %q and %q, want %q and none", r[0].Stale, r[1].Stale, want)
	}
	s := status(pool, ups[0])
	if s.State != StateDegraded || !slices.Equal(s.Stale, []string{"v1.1.0"}) {
		t.Fatalf("stale mirror's status: %s, stale %q", s.State, s.Stale)
	}
	if s.Score < time.Second {
		t.Fatalf("stale mirror scores %v: no stale penalty", s.Score)
	}
	wantOrder(t, pool, ups[1].Name+","+ups[0].Name)

	stale.set(pathList, nil) // it caught up
	r = round()
	if r[0].Stale != nil {
		t.Fatalf("still stale after catching up: %q", r[0].Stale)
	}
	if s := status(pool, ups[0]); s.State != StateHealthy || s.Stale != nil {
		t.Fatalf("after catching up: %s, stale %q", s.State, s.Stale)
	}
	wantOrder(t, pool, ups[0].Name+","+ups[1].Name)
}
