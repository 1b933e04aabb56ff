// Package upstream is gofailover's one way to talk to an upstream mirror.
// Every request to a mirror goes through Client.Get: a user's fetch, a
// checksum-database read and a probe alike. It alone builds the URL (as the
// go command does), applies the connect, first-byte and idle timeouts, the
// slow-body floor, the per-upstream concurrency cap and the redirect policy,
// reads the body within its size limit, checks it (proxy/protocol), and
// judges the answer with one table into one health.Outcome. Callers say what
// to ask and what to do with the answer, and report the Outcome to the
// health pool.
package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofailover/gofailover/health"
)

// The judgment of an answer, the one table every request to a mirror is
// judged by (README: "How answers are judged"):
//
//	200 with a body that passes the checks      an answer
//	400, 403, 404, 410                          a definitive answer about the
//	                                            module: not a failure
//	401, 407                                    failure: auth
//	429                                         failure: 429 (Retry-After honoured)
//	5xx                                         failure: 5xx (Retry-After honoured)
//	3xx the redirect policy refuses             failure: redirect
//	any other status                            failure: bad_status
//	a body that fails the checks                failure: bad_body
//	a body over its size limit                  failure: too_large
//	a body slower than the floor                failure: slow_body
//	no progress within the idle timeout, no
//	header within the first-byte timeout        failure: timeout
//	connection errors                           failure: refused, dns, tls, reset, other
//
// Content that fails checksum verification (bad_content) is judged by the
// caller that verifies it.

// judgeStatus returns the failure an HTTP status (other than 200) means, and
// whether it is a definitive answer about the module instead.
func judgeStatus(code int) (failure health.FailureKind, definitive bool) {
	switch {
	case code == http.StatusBadRequest, code == http.StatusForbidden,
		code == http.StatusNotFound, code == http.StatusGone:
		return health.FailNone, true
	case code == http.StatusUnauthorized, code == http.StatusProxyAuthRequired:
		return health.FailAuth, false
	case code == http.StatusTooManyRequests:
		return health.FailRateLimit, false
	case code >= 500:
		return health.FailStatus5xx, false
	case code >= 300 && code < 400:
		return health.FailRedirect, false
	}
	return health.FailBadStatus, false
}

// classify names the kind of a failed request to an upstream from its error:
// health.FailNone for nil, health.FailDNS, health.FailTLS (also a plain-HTTP answer to an https
// URL), health.FailRefused (also an unreachable host or network), health.FailTimeout
// (deadlines, and any error in the chain with a Timeout() bool method that
// returns true), health.FailReset (reset, broken pipe, aborted connection, a body
// cut short), and health.FailOther for anything else, including a cancelled
// context.
//
// The client's own errors are named first: a refused redirect, a body
// slower than the floor, a body that made no progress within the idle
// timeout.
func classify(err error) health.FailureKind {
	var (
		redirErr *RedirectError
		dnsErr   *net.DNSError
		certErr  *tls.CertificateVerificationError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		unkAuth  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	switch {
	case err == nil:
		return health.FailNone
	case errors.As(err, &redirErr):
		return health.FailRedirect
	case errors.Is(err, ErrSlowBody):
		return health.FailSlowBody
	case errors.Is(err, ErrIdleBody):
		return health.FailTimeout
	case errors.As(err, &dnsErr):
		return health.FailDNS
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alertErr),
		errors.As(err, &unkAuth), errors.As(err, &hostErr), errors.As(err, &invalid),
		errors.Is(err, http.ErrSchemeMismatch):
		return health.FailTLS
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return health.FailRefused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		hasTimeout(err):
		return health.FailTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return health.FailReset
	}
	return health.FailOther
}

// hasTimeout reports whether any error in err's tree has a Timeout method
// that returns true. (errors.As would stop at the first error with the
// method, such as a *url.Error whose direct cause has none.)
func hasTimeout(err error) bool {
	for err != nil {
		if t, ok := err.(interface{ Timeout() bool }); ok && t.Timeout() {
			return true
		}
		if multi, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range multi.Unwrap() {
				if hasTimeout(e) {
					return true
				}
			}
			return false
		}
		err = errors.Unwrap(err)
	}
	return false
}

// parseRetryAfter parses a Retry-After header value, delay seconds or an
// HTTP date, into how long to wait from now (at most a year). It returns 0
// for an empty, malformed, zero or past value.
func parseRetryAfter(v string, now time.Time) time.Duration {
	const maxWait = 365 * 24 * time.Hour
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxWait/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxWait)
	}
	return 0
}
