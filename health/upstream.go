// Package health owns what gofailover knows about its upstream mirrors: the
// pool of upstreams, what each request and probe to them showed, and the order
// in which a request should try them.
//
// The proxy asks for candidates, best first, and reports every outcome back;
// this package takes no part in serving bytes. Static keeps the user's order;
// Pool learns from the outcomes: per-upstream statistics over a sliding
// window, a circuit breaker, quarantine for bad content and Retry-After
// holds, and an order by score with the user's preference breaking near-ties.
// Every time it uses comes from a Clock, so tests drive it with a FakeClock.
package health

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Upstream is one mirror in the pool.
type Upstream struct {
	// Name identifies the upstream in logs, metrics and status: its URL
	// without credentials.
	Name string
	// URL is the mirror's base URL; protocol paths are appended to it.
	URL *url.URL
	// Rank is the user's preference order, 0 for the most preferred.
	Rank int
}

// NewUpstreams parses mirror base URLs, in preference order, into upstreams.
// Each must be an absolute http or https URL.
func NewUpstreams(rawURLs []string) ([]*Upstream, error) {
	ups := make([]*Upstream, 0, len(rawURLs))
	seen := make(map[string]bool, len(rawURLs))
	for i, raw := range rawURLs {
		u, err := ParseUpstreamURL(raw)
		if err != nil {
			return nil, err
		}
		name := u.Redacted()
		if seen[name] {
			return nil, fmt.Errorf("upstream %q is listed twice", name)
		}
		seen[name] = true
		ups = append(ups, &Upstream{Name: name, URL: u, Rank: i})
	}
	return ups, nil
}

// ParseUpstreamURL parses and checks one mirror base URL.
func ParseUpstreamURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("upstream %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("upstream %q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("upstream %q: must not have a query or fragment", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// FailureKind classifies why a request to an upstream did not give an answer.
type FailureKind string

// The failure kinds. An empty FailureKind means the upstream answered.
const (
	FailNone       FailureKind = ""
	FailRefused    FailureKind = "refused"
	FailDNS        FailureKind = "dns"
	FailTLS        FailureKind = "tls"
	FailTimeout    FailureKind = "timeout"
	FailReset      FailureKind = "reset"
	FailStatus5xx  FailureKind = "5xx"
	FailRateLimit  FailureKind = "429"
	FailBadStatus  FailureKind = "bad_status"
	FailBadBody    FailureKind = "bad_body"
	FailBadContent FailureKind = "bad_content" // failed checksum verification
	FailTooLarge   FailureKind = "too_large"
	FailOther      FailureKind = "other"
)

// Outcome is what one request to an upstream showed.
type Outcome struct {
	// Status is the HTTP status, or 0 when no response arrived.
	Status int
	// Failure is why no usable answer came, FailNone when one did (a 404 is an
	// answer: the upstream is healthy, the module is missing).
	Failure FailureKind
	// FirstByte is the time until the response header arrived.
	FirstByte time.Duration
	// Total is the time until the body was read or the request failed.
	Total time.Duration
	// RetryAfter is the upstream's requested back-off on 429 or 503.
	RetryAfter time.Duration
	// Err is the error, if any, for logs.
	Err error
	// Probe marks an outcome of an active probe rather than of a user's
	// request. Both count alike for health; they are counted apart, so
	// that traffic figures show only users' requests.
	Probe bool
	// Abandoned marks a request given up before its response header
	// because another upstream answered first (a lost hedge) or it took
	// longer than it was given: FirstByte is then a lower bound, what
	// the upstream is known to take at least. It counts as a success for
	// health (the upstream did nothing wrong in the time it had).
	Abandoned bool
}

// AbandonedAfter is the Outcome of a request abandoned after d without a
// response header (see Outcome.Abandoned).
func AbandonedAfter(d time.Duration) Outcome {
	return Outcome{FirstByte: d, Total: d, Abandoned: true}
}

// Static is a candidate order that always tries upstreams in the user's order and
// learns nothing.
type Static []*Upstream

// Candidates returns the upstreams in preference order.
func (s Static) Candidates() []*Upstream { return s }

// Upstreams returns the upstreams in preference order.
func (s Static) Upstreams() []*Upstream { return s }

// Report does nothing.
func (Static) Report(*Upstream, Outcome) {}
