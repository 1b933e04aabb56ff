package health

import "testing"

// TestFailureKindNames pins the failure kinds' names, which logs, metrics
// labels and the status page show, and checks that no two are alike.
func TestFailureKindNames(t *testing.T) {
	kinds := map[FailureKind]string{
		FailNone:       "",
		FailRefused:    "refused",
		FailDNS:        "dns",
		FailTLS:        "tls",
		FailTimeout:    "timeout",
		FailReset:      "reset",
		FailStatus5xx:  "5xx",
		FailRateLimit:  "429",
		FailAuth:       "auth",
		FailBadStatus:  "bad_status",
		FailRedirect:   "redirect",
		FailBadBody:    "bad_body",
		FailSlowBody:   "slow_body",
		FailBadContent: "bad_content",
		FailTooLarge:   "too_large",
		FailOther:      "other",
	}
	if len(kinds) != 16 {
		t.Fatalf("%d distinct failure kinds, want 16: two constants share a name", len(kinds))
	}
	for k, want := range kinds {
		if string(k) != want {
			t.Errorf("failure kind %q, want %q", k, want)
		}
	}
}

// TestOutcomePathReported checks that an outcome's Path reaches the
// observer as it was reported.
func TestOutcomePathReported(t *testing.T) {
	p, ups, _ := testPool(t, 1, Config{})
	var got []Outcome
	p.SetObserver(observerFunc(func(_ *Upstream, o Outcome) { got = append(got, o) }))
	o := ok(ms)
	o.Path = "/example.com/m/@v/list"
	p.Report(ups[0], o)
	if len(got) != 1 || got[0].Path != o.Path {
		t.Fatalf("observed %+v, want one outcome with path %q", got, o.Path)
	}
}

// observerFunc is an Observer made of a function.
type observerFunc func(*Upstream, Outcome)

func (f observerFunc) Observe(u *Upstream, o Outcome) { f(u, o) }
