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
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Upstream is one mirror: who it is, and how much may be asked of it at
// once. What is known of its health is a Pool's.
type Upstream struct {
	// Name identifies the upstream in logs, metrics and status: its URL
	// without credentials.
	Name string
	// URL is the mirror's base URL; protocol paths are appended to it.
	URL *url.URL
	// Rank is the user's preference order, 0 for the most preferred.
	Rank int

	// slots holds a token per request in flight (Acquire); nil: no cap.
	slots chan struct{}
}

// Limits bound what is asked of each upstream at once.
type Limits struct {
	// MaxInFlight caps the requests in flight to each upstream (see
	// Upstream.Acquire). Zero means no cap.
	MaxInFlight int
}

// ErrBusy reports a request not made because the upstream already had as
// many requests in flight as Limits.MaxInFlight allows. It says nothing
// about the upstream's health.
var ErrBusy = errors.New("upstream at its concurrent request limit")

// Acquire takes one of u's request slots, waiting up to wait for one, and
// returns the function that gives it back. It fails with ErrBusy when none
// came free in time, and with ctx's error when ctx ended first.
func (u *Upstream) Acquire(ctx context.Context, wait time.Duration) (release func(), err error) {
	if u.slots == nil {
		return func() {}, nil
	}
	select {
	case u.slots <- struct{}{}:
		return u.release, nil
	default:
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case u.slots <- struct{}{}:
		return u.release, nil
	case <-timer.C:
		return nil, fmt.Errorf("%s: %w (%d) for %v", u.Name, ErrBusy, cap(u.slots), wait)
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: waiting for a request slot: %w", u.Name, ctx.Err())
	}
}

// release gives back a slot Acquire took.
func (u *Upstream) release() { <-u.slots }

// NewUpstreams parses mirror base URLs, in preference order, into upstreams
// with the given limits. Each must be an absolute http or https URL.
func NewUpstreams(rawURLs []string, limits Limits) ([]*Upstream, error) {
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
		up := &Upstream{Name: name, URL: u, Rank: i}
		if limits.MaxInFlight > 0 {
			up.slots = make(chan struct{}, limits.MaxInFlight)
		}
		ups = append(ups, up)
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

// Static is a candidate order that always tries upstreams in the user's order and
// learns nothing.
type Static []*Upstream

// Candidates returns the upstreams in preference order.
func (s Static) Candidates() []*Upstream { return s }

// Upstreams returns the upstreams in preference order.
func (s Static) Upstreams() []*Upstream { return s }

// Report does nothing.
func (Static) Report(*Upstream, Outcome) {}

// ReportDenial does nothing.
func (Static) ReportDenial(*Upstream, string, int, string) {}

// AcquireBackground takes one of u's request slots for background work,
// such as a prefetch, without waiting, and only while more than a quarter
// of them (at least one) would stay free for users' requests: background
// work never takes, nor waits in line for, the slots users' requests need.
// It reports false when it took none.
func (u *Upstream) AcquireBackground() (release func(), ok bool) {
	if u.slots == nil {
		return func() {}, true
	}
	reserve := max(cap(u.slots)/4, 1)
	if cap(u.slots)-len(u.slots) <= reserve {
		return nil, false
	}
	select {
	case u.slots <- struct{}{}:
		return u.release, true
	default:
		return nil, false
	}
}
