package health

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
)

// Classify names the kind of a failed request to an upstream from its error:
// FailNone for nil, FailDNS, FailTLS (also a plain-HTTP answer to an https
// URL), FailRefused (also an unreachable host or network), FailTimeout
// (deadlines, and any error in the chain with a Timeout() bool method that
// returns true), FailReset (reset, broken pipe, aborted connection, a body
// cut short), and FailOther for anything else, including a cancelled
// context.
//
// It is the one classification of transport errors for requests and probes
// alike.
func Classify(err error) FailureKind {
	var (
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
		return FailNone
	case errors.As(err, &dnsErr):
		return FailDNS
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alertErr),
		errors.As(err, &unkAuth), errors.As(err, &hostErr), errors.As(err, &invalid),
		errors.Is(err, http.ErrSchemeMismatch):
		return FailTLS
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return FailRefused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		hasTimeout(err):
		return FailTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return FailReset
	}
	return FailOther
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

// ParseRetryAfter parses a Retry-After header value, delay seconds or an
// HTTP date, into how long to wait from now (at most a year). It returns 0
// for an empty, malformed, zero or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		const maxSecs = int64(365 * 24 * time.Hour / time.Second)
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
