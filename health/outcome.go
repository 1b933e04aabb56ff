package health

import "time"

// FailureKind classifies why a request to an upstream did not give an answer.
type FailureKind string

// The failure kinds. An empty FailureKind means the upstream answered.
const (
	// FailNone: the upstream answered (a 404 is an answer).
	FailNone FailureKind = ""
	// FailRefused: the connection was refused.
	FailRefused FailureKind = "refused"
	// FailDNS: the upstream's host name did not resolve.
	FailDNS FailureKind = "dns"
	// FailTLS: the TLS handshake or certificate check failed.
	FailTLS FailureKind = "tls"
	// FailTimeout: no answer within the time allowed.
	FailTimeout FailureKind = "timeout"
	// FailReset: the connection was reset or closed early.
	FailReset FailureKind = "reset"
	// FailStatus5xx: a 5xx status.
	FailStatus5xx FailureKind = "5xx"
	// FailRateLimit: a 429 status.
	FailRateLimit FailureKind = "429"
	// FailAuth: a 401 or 407 status: the upstream, or a proxy before it,
	// wants credentials it was not given or refused those it was.
	FailAuth FailureKind = "auth"
	// FailBadStatus: a status the protocol does not allow for the request.
	FailBadStatus FailureKind = "bad_status"
	// FailRedirect: a redirect the redirect policy refused.
	FailRedirect FailureKind = "redirect"
	// FailBadBody: a body that is malformed for the request.
	FailBadBody FailureKind = "bad_body"
	// FailSlowBody: a body that arrived slower than the floor allowed.
	FailSlowBody FailureKind = "slow_body"
	// FailBadContent: content that failed checksum verification.
	FailBadContent FailureKind = "bad_content"
	// FailTooLarge: a body over its size limit.
	FailTooLarge FailureKind = "too_large"
	// FailOther: anything else.
	FailOther FailureKind = "other"
)

// Outcome is what one request to an upstream showed.
type Outcome struct {
	// Path is the protocol path asked, such as "/example.com/m/@v/list"
	// (appended to the upstream's base URL), for logs and to tell when an
	// upstream serves a path it denied (see Pool.ReportDenial); empty when
	// unknown.
	Path string
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
