package upstream

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// maxRedirects is the most redirects one request follows.
const maxRedirects = 5

// RedirectError reports a redirect the policy refused: a failure of the
// upstream that sent it.
type RedirectError struct {
	// From is the URL redirected from, To the Location (without
	// credentials), Reason why it was not followed.
	From, To, Reason string
}

// Error describes the refused redirect.
func (e *RedirectError) Error() string {
	if e.To == "" {
		return fmt.Sprintf("redirect from %s refused: %s", e.From, e.Reason)
	}
	return fmt.Sprintf("redirect from %s to %s refused: %s", e.From, e.To, e.Reason)
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// The redirect policy. A redirect is followed only
//
//   - to the upstream's own origin (scheme, host and port), or
//   - to an https URL on another host whose addresses are all public (how
//     some mirrors hand large zips to a CDN);
//
// never from https to http, and never to a loopback, private, link-local,
// unspecified or otherwise non-public address other than the upstream's
// own origin. The addresses are checked when the redirect is followed and
// again when the connection is dialed, so that a name that resolves
// differently the second time gains nothing.

// allowRedirect decides whether a redirect from from to next, during a
// request to an upstream whose base URL is origin, is followed. It returns
// the context to send the next request with: one that makes the dialer
// refuse non-public addresses for next's host when next is on another
// origin.
func (c *Client) allowRedirect(ctx context.Context, origin, from, next *url.URL) (context.Context, error) {
	refuse := func(reason string) (context.Context, error) {
		return ctx, &RedirectError{From: from.Redacted(), To: next.Redacted(), Reason: reason}
	}
	if from.Scheme == "https" && next.Scheme != "https" {
		return refuse("from https to " + next.Scheme)
	}
	if sameOrigin(origin, next) {
		return ctx, nil
	}
	if next.Scheme != "https" {
		return refuse("to another origin over " + next.Scheme + " (only https is followed off the upstream's origin)")
	}
	if next.User != nil {
		return refuse("to a URL with credentials")
	}
	host := next.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		addrs, err = c.cfg.Resolve(ctx, host)
		if err != nil {
			return refuse("its host does not resolve: " + err.Error())
		}
	}
	if len(addrs) == 0 {
		return refuse("its host has no address")
	}
	for _, a := range addrs {
		if !isPublic(a) {
			return refuse(fmt.Sprintf("its host has the non-public address %s", a))
		}
	}
	return context.WithValue(ctx, publicOnlyKey{}, hostPort(next)), nil
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

// port is u's port, or its scheme's default.
func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// hostPort is the address the transport dials for u (without a proxy).
func hostPort(u *url.URL) string { return net.JoinHostPort(u.Hostname(), port(u)) }

// isPublic reports whether a is an address on the public internet: not
// loopback, private, link-local, unspecified, multicast, shared (CGNAT),
// "this network", benchmarking or broadcast.
func isPublic(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range nonPublicPrefixes() {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// nonPublicPrefixes are the ranges netip's predicates do not cover.
func nonPublicPrefixes() [6]netip.Prefix {
	return [...]netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),          // "this network"
		netip.MustParsePrefix("100.64.0.0/10"),      // shared address space (CGNAT)
		netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments
		netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking
		netip.MustParsePrefix("255.255.255.255/32"), // broadcast
		netip.MustParsePrefix("64:ff9b::/96"),       // NAT64, which can reach private IPv4
	}
}

// publicOnlyKey marks a request context whose connections to the address
// it holds (host:port) must go to public addresses only.
type publicOnlyKey struct{}
