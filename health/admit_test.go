package health

import (
	"testing"
	"time"
)

// TestAdmitGatesOneDependency: Admit lets requests through while the
// breaker is closed, none while it is open or held by a Retry-After, and
// one trial at a time while it is half-open; a successful trial closes it.
func TestAdmitGatesOneDependency(t *testing.T) {
	p, ups, clock := testPool(t, 1, Config{FailureThreshold: 2, OpenBackoff: 10 * time.Second, HalfOpenSuccesses: 1, HalfOpenTrials: 1})
	s := ups[0]
	for range 3 {
		if !p.Admit(s) {
			t.Fatal("a healthy store is not admitted")
		}
	}
	report(p, s, fail(FailTimeout), 2)
	wantState(t, p, s, StateOpen)
	if p.Admit(s) {
		t.Fatal("an open breaker admits a request")
	}
	clock.Advance(10 * time.Second)
	if !p.Admit(s) {
		t.Fatal("a half-open breaker grants no trial")
	}
	if p.Admit(s) {
		t.Fatal("a half-open breaker grants a second trial while the first is out")
	}
	report(p, s, ok(5*ms), 1)
	wantState(t, p, s, StateHealthy)
	if !p.Admit(s) {
		t.Fatal("a closed breaker does not admit")
	}

	report(p, s, Outcome{Status: 503, Failure: FailStatus5xx, RetryAfter: 30 * time.Second}, 1)
	if p.Admit(s) {
		t.Fatal("a Retry-After hold admits a request")
	}
	clock.Advance(31 * time.Second)
	if !p.Admit(s) {
		t.Fatal("not admitted after the Retry-After passed")
	}
	if p.Admit(&Upstream{Name: "stranger"}) {
		t.Fatal("an upstream not in the pool is admitted")
	}
}
