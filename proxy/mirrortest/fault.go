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
)

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
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault describes how a Mirror answers the requests it applies to. The zero
// Fault is Healthy. Build one with a constructor (Status(503), Blackhole(),
// ...) and narrow it with OnSuffix and Times, e.g.
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

// String describes f, e.g. "Status(503) on .zip x2" or
// "Status(503) under /sumdb/".
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
