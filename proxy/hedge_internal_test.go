package proxy

import (
	"testing"
	"time"
)

// TestHedgeBudget: hedges stay within ratio × plain attempts plus the
// burst, over the current and the previous minute.
func TestHedgeBudget(t *testing.T) {
	now := time.Unix(1e9, 0)
	b := &hedgeBudget{ratio: 0.1, burst: 2, now: func() time.Time { return now }, start: now}
	spend := func() int {
		n := 0
		for b.allow() {
			b.attempt(true)
			n++
		}
		return n
	}
	if n := spend(); n != 2 {
		t.Fatalf("with no plain attempts, %d hedges allowed; want the burst, 2", n)
	}
	for range 30 {
		b.attempt(false)
	}
	if n := spend(); n != 3 {
		t.Fatalf("after 30 plain attempts, %d more hedges allowed; want 3", n)
	}
	now = now.Add(90 * time.Second) // the previous minute still counts
	if b.allow() {
		t.Fatal("a hedge allowed while the previous minute's hedges use the whole budget")
	}
	now = now.Add(2 * time.Minute) // both minutes forgotten
	if n := spend(); n != 2 {
		t.Fatalf("after two quiet minutes, %d hedges allowed; want the burst, 2", n)
	}
	var none *hedgeBudget
	if none.allow() {
		t.Fatal("a nil budget allowed a hedge")
	}
	none.attempt(false) // must not panic
}
