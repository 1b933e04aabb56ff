package mirrortest

import (
	"fmt"
	"strings"
	"time"
)

// FaultKind says how a Mirror misbehaves.
type FaultKind int

// The kinds of Fault. Each has a constructor of the same name.
const (
	// KindHealthy serves every request correctly.
	KindHealthy FaultKind = iota
	// KindStatus answers every request with Fault.Code and a short text body.
	KindStatus
	// KindRateLimited answers 429 Too Many Requests with a Retry-After header
	// of Fault.RetryAfter (in whole seconds, rounded up).
	KindRateLimited
	// KindSlow waits Fault.Delay before sending the (correct) answer's header.
	KindSlow
	// KindBlackhole accepts the request and never answers, until the client
	// gives up (its request context is done) or the mirror is closed, when
	// the connection is dropped without a response.
	KindBlackhole
	// KindResetMidBody sends the correct status and headers, with the full
	// Content-Length, and about half the body, then resets the TCP connection
	// (SO_LINGER 0). An empty body is reset before anything is sent.
	KindResetMidBody
	// KindTruncate sends the first half of the body with a Content-Length
	// that matches it, so the response is well-formed but incomplete.
	KindTruncate
	// KindCorruptZip flips one byte in the middle of every successful .zip
	// body; other answers are correct.
	KindCorruptZip
	// KindTamper serves well-formed but altered .zip and .mod bodies: the
	// zip gets an extra file, the go.mod an extra comment line, as a
	// compromised mirror might. Only a checksum check can tell. Other answers
	// are correct.
	KindTamper
	// KindStaleList makes @v/list and @latest answer as if the newest
	// version of the module did not exist; other answers are correct.
	KindStaleList
	// KindFlipContent serves .zip bodies in which one byte of one file's
	// content is changed. Unlike KindCorruptZip, which usually leaves a zip
	// that does not open, the zip is rebuilt around the changed file, so it
	// opens, its CRCs are right and modzip.CheckZip accepts it: only its
	// hash (the checksum database) tells. Other answers are correct.
	KindFlipContent
	// KindHTML answers 200 OK with Content-Type text/html and
	// CaptivePortalPage as the body, as the sign-in page of a captive portal
	// (a hotel or airport network, say) does for whatever is asked of it.
	KindHTML
	// KindTrickle sends the correct status and headers, with the full
	// Content-Length, at once, then the correct body at about
	// Fault.BytesPerSecond: a small chunk at a time (about twenty a second,
	// or one byte at a time below 20 B/s), each flushed when due. It stops,
	// dropping the connection, as soon as the client's request context is
	// done or the mirror is closed. A HEAD answer, or an empty body, is sent
	// at once.
	KindTrickle
	// KindRedirect answers 302 Found with a Location of Fault.Base followed
	// by the request's URL path as received (still percent-encoded, as
	// url.URL.EscapedPath returns it), e.g. to another Mirror's URL.
	KindRedirect
	// KindRedirectSameOrigin answers 302 Found with the relative Location
	// "/_moved" followed by the request's URL path as received (as
	// KindRedirect does). A Mirror always serves /_moved/<path> as it serves
	// /<path>, healthily: no fault applies to paths under /_moved/, so the
	// redirect, once followed, is answered correctly.
	KindRedirectSameOrigin
	// KindWrongVersionInfo answers every .info and @latest request with the
	// correct JSON except that its "Version" is Fault.Version: a mirror
	// lying about which version a .info describes (e.g. v9.9.9 for v1.1.0,
	// or a string that is not a version at all). Other answers, and answers
	// other than 200, are correct.
	KindWrongVersionInfo
)

// CaptivePortalPage is the body answered by KindHTML: a small captive-portal
// sign-in page.
const CaptivePortalPage = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Guest Wi-Fi</title></head>` +
	`<body><h1>Welcome to Guest Wi-Fi</h1><p>Please sign in to access the Internet.</p>` +
	`<form method="post" action="/login"><input name="email" type="email">` +
	`<button type="submit">Sign in</button></form></body></html>
`

// String returns the kind's constructor name.
func (k FaultKind) String() string {
	switch k {
	case KindHealthy:
		return "Healthy"
	case KindStatus:
		return "Status"
	case KindRateLimited:
		return "RateLimited"
	case KindSlow:
		return "Slow"
	case KindBlackhole:
		return "Blackhole"
	case KindResetMidBody:
		return "ResetMidBody"
	case KindTruncate:
		return "Truncate"
	case KindCorruptZip:
		return "CorruptZip"
	case KindTamper:
		return "Tamper"
	case KindStaleList:
		return "StaleList"
	case KindFlipContent:
		return "FlipContent"
	case KindHTML:
		return "HTML"
	case KindTrickle:
		return "Trickle"
	case KindRedirect:
		return "Redirect"
	case KindRedirectSameOrigin:
		return "RedirectSameOrigin"
	case KindWrongVersionInfo:
		return "WrongVersionInfo"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault describes how a Mirror answers the requests it applies to. The zero
// Fault is Healthy. Build one with a constructor (Status(503), Blackhole(),
// ...) and narrow it with OnPrefix, OnSuffix and Times, e.g.
//
//	mirror.SetFault(mirrortest.ResetMidBody().OnSuffix(".zip").Times(2))
type Fault struct {
	// Kind selects the behaviour.
	Kind FaultKind
	// Code is the HTTP status answered by KindStatus.
	Code int
	// RetryAfter is the Retry-After advertised by KindRateLimited.
	RetryAfter time.Duration
	// Delay is the latency added by KindSlow.
	Delay time.Duration
	// BytesPerSecond is the rate at which KindTrickle sends bodies; below 1
	// it counts as 1.
	BytesPerSecond int
	// Base is where KindRedirect sends clients: the request's escaped URL
	// path is appended to it, so it has no trailing slash (e.g. another
	// Mirror's URL).
	Base string
	// Version is the "Version" that KindWrongVersionInfo puts in .info and
	// @latest answers.
	Version string
	// Suffix, when not empty, limits the fault to requests whose URL path
	// (in the form Mirror.Requests reports) ends with it (e.g. ".zip", "/@v/list", "/supported"); other
	// requests are served correctly.
	Suffix string
	// Prefix, when not empty, limits the fault to requests whose URL path
	// (in the form Mirror.Requests reports) starts with it (e.g. "/sumdb/"
	// for every checksum-database request); other requests are served
	// correctly. With Suffix, both must match.
	Prefix string
	// Limit, when positive, limits the fault to the first Limit requests it
	// applies to; later ones are served correctly.
	Limit int
}

// Healthy returns the Fault that serves every request correctly.
func Healthy() Fault { return Fault{Kind: KindHealthy} }

// Status returns a Fault answering every request with HTTP status code.
func Status(code int) Fault { return Fault{Kind: KindStatus, Code: code} }

// RateLimited returns a Fault answering 429 with Retry-After: retryAfter.
func RateLimited(retryAfter time.Duration) Fault {
	return Fault{Kind: KindRateLimited, RetryAfter: retryAfter}
}

// Slow returns a Fault adding latency d before each answer's header.
func Slow(d time.Duration) Fault { return Fault{Kind: KindSlow, Delay: d} }

// Blackhole returns a Fault that never answers (see KindBlackhole).
func Blackhole() Fault { return Fault{Kind: KindBlackhole} }

// ResetMidBody returns a Fault resetting the connection halfway through the
// body (see KindResetMidBody).
func ResetMidBody() Fault { return Fault{Kind: KindResetMidBody} }

// Truncate returns a Fault sending half of each body with a matching
// Content-Length.
func Truncate() Fault { return Fault{Kind: KindTruncate} }

// CorruptZip returns a Fault flipping one byte of each .zip body.
func CorruptZip() Fault { return Fault{Kind: KindCorruptZip} }

// Tamper returns a Fault serving well-formed but altered .zip and .mod
// bodies (see KindTamper).
func Tamper() Fault { return Fault{Kind: KindTamper} }

// StaleList returns a Fault hiding each module's newest version from
// @v/list and @latest.
func StaleList() Fault { return Fault{Kind: KindStaleList} }

// FlipContent returns a Fault serving .zip bodies with one byte of one
// file's content changed, in an otherwise well-formed zip (see
// KindFlipContent).
func FlipContent() Fault { return Fault{Kind: KindFlipContent} }

// HTML returns a Fault answering 200 with a captive portal's sign-in page,
// CaptivePortalPage, as text/html (see KindHTML).
func HTML() Fault { return Fault{Kind: KindHTML} }

// Trickle returns a Fault sending the correct headers at once and the
// correct body at about bytesPerSecond (see KindTrickle).
func Trickle(bytesPerSecond int) Fault {
	return Fault{Kind: KindTrickle, BytesPerSecond: bytesPerSecond}
}

// Redirect returns a Fault answering 302 Found with a Location of base
// followed by the request's escaped URL path (see KindRedirect), e.g.
// Redirect(other.URL()) to send clients to another Mirror.
func Redirect(base string) Fault { return Fault{Kind: KindRedirect, Base: base} }

// RedirectSameOrigin returns a Fault answering 302 Found with a Location of
// "/_moved" followed by the request's escaped URL path, which the Mirror
// serves correctly (see KindRedirectSameOrigin).
func RedirectSameOrigin() Fault { return Fault{Kind: KindRedirectSameOrigin} }

// WrongVersionInfo returns a Fault answering .info and @latest requests
// with JSON whose "Version" is version, whatever version was asked for: a
// mirror lying about which version a .info describes (see
// KindWrongVersionInfo).
func WrongVersionInfo(version string) Fault {
	return Fault{Kind: KindWrongVersionInfo, Version: version}
}

// OnPrefix returns f limited to requests whose URL path starts with prefix,
// e.g. OnPrefix("/sumdb/") for the checksum database's paths.
func (f Fault) OnPrefix(prefix string) Fault {
	f.Prefix = prefix
	return f
}

// OnSuffix returns f limited to requests whose URL path ends with suffix.
func (f Fault) OnSuffix(suffix string) Fault {
	f.Suffix = suffix
	return f
}

// Times returns f limited to the first n requests it applies to.
func (f Fault) Times(n int) Fault {
	f.Limit = n
	return f
}

// String describes f, e.g. "Status(503) on .zip x2",
// "Status(503) under /sumdb/" or "WrongVersionInfo(\"v9.9.9\") on .info".
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString(f.Kind.String())
	switch f.Kind {
	case KindStatus:
		fmt.Fprintf(&b, "(%d)", f.Code)
	case KindRateLimited:
		fmt.Fprintf(&b, "(%v)", f.RetryAfter)
	case KindSlow:
		fmt.Fprintf(&b, "(%v)", f.Delay)
	case KindTrickle:
		fmt.Fprintf(&b, "(%d)", f.BytesPerSecond)
	case KindRedirect:
		fmt.Fprintf(&b, "(%q)", f.Base)
	case KindWrongVersionInfo:
		fmt.Fprintf(&b, "(%q)", f.Version)
	}
	if f.Prefix != "" {
		fmt.Fprintf(&b, " under %s", f.Prefix)
	}
	if f.Suffix != "" {
		fmt.Fprintf(&b, " on %s", f.Suffix)
	}
	if f.Limit > 0 {
		fmt.Fprintf(&b, " x%d", f.Limit)
	}
	return b.String()
}

// matches reports whether f applies to a request for the URL path p.
func (f Fault) matches(p string) bool {
	return (f.Suffix == "" || strings.HasSuffix(p, f.Suffix)) &&
		(f.Prefix == "" || strings.HasPrefix(p, f.Prefix))
}
