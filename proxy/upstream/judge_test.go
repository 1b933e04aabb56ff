package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/mirrortest"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

// timeoutError is an error that says it is a timeout, as a caller's own
// idle-timeout error may.
type timeoutError struct{}

func (timeoutError) Error() string { return "idle" }
func (timeoutError) Timeout() bool { return true }

func TestClassify(t *testing.T) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	for _, tc := range []struct {
		name string
		err  error
		want health.FailureKind
	}{
		{"nil", nil, health.FailNone},
		{"dns", &net.DNSError{Err: "no such host", Name: "mirror.invalid", IsNotFound: true}, health.FailDNS},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", IsTimeout: true}, health.FailDNS},
		{"refused", opErr(syscall.ECONNREFUSED), health.FailRefused},
		{"host unreachable", opErr(syscall.EHOSTUNREACH), health.FailRefused},
		{"unknown authority", fmt.Errorf("get: %w", x509.UnknownAuthorityError{}), health.FailTLS},
		{"hostname", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "h"}, health.FailTLS},
		{"record header", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, health.FailTLS},
		{"verification", &tls.CertificateVerificationError{Err: errors.New("expired")}, health.FailTLS},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), health.FailTimeout},
		{"os deadline", os.ErrDeadlineExceeded, health.FailTimeout},
		{"Timeout() method", fmt.Errorf("reading: %w", timeoutError{}), health.FailTimeout},
		{"Timeout() method deep in a url.Error", &url.Error{Op: "Get", URL: "u", Err: fmt.Errorf("x: %w", timeoutError{})}, health.FailTimeout},
		{"Timeout() method in a join", errors.Join(errors.New("a"), timeoutError{}), health.FailTimeout},
		{"reset", opErr(syscall.ECONNRESET), health.FailReset},
		{"broken pipe", opErr(syscall.EPIPE), health.FailReset},
		{"unexpected EOF", fmt.Errorf("body: %w", io.ErrUnexpectedEOF), health.FailReset},
		{"EOF", io.EOF, health.FailReset},
		{"cancelled", context.Canceled, health.FailOther},
		{"other", errors.New("something"), health.FailOther},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("%s: classify(%v) = %q, want %q", tc.name, tc.err, got, tc.want)
		}
	}
}

// TestClassifyReal classifies errors from real requests to 127.0.0.1.
func TestClassifyReal(t *testing.T) {
	client := &http.Client{Transport: &http.Transport{}, Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	get := func(url string) error {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	t.Run("refused", func(t *testing.T) {
		if got := classify(get(mirrortest.ClosedURL(t))); got != health.FailRefused {
			t.Errorf("got %q, want %q", got, health.FailRefused)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.NotFoundHandler())
		defer srv.Close()
		srv.Config.ErrorLog = mirrortest.QuietLog()
		if got := classify(get(srv.URL)); got != health.FailTLS {
			t.Errorf("got %q, want %q", got, health.FailTLS)
		}
	})
	t.Run("https to a plain server", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		defer srv.Close()
		if got := classify(get("https" + srv.URL[len("http"):])); got != health.FailTLS {
			t.Errorf("got %q, want %q", got, health.FailTLS)
		}
	})
	t.Run("closed without answer", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(mirrortest.HangUp))
		defer srv.Close()
		if got := classify(get(srv.URL)); got != health.FailReset {
			t.Errorf("got %q, want %q", got, health.FailReset)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"99999999999", 365 * 24 * time.Hour},
	} {
		if got := parseRetryAfter(tc.v, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}
