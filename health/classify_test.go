package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
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
		want FailureKind
	}{
		{"nil", nil, FailNone},
		{"dns", &net.DNSError{Err: "no such host", Name: "mirror.invalid", IsNotFound: true}, FailDNS},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", IsTimeout: true}, FailDNS},
		{"refused", opErr(syscall.ECONNREFUSED), FailRefused},
		{"host unreachable", opErr(syscall.EHOSTUNREACH), FailRefused},
		{"unknown authority", fmt.Errorf("get: %w", x509.UnknownAuthorityError{}), FailTLS},
		{"hostname", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "h"}, FailTLS},
		{"record header", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, FailTLS},
		{"verification", &tls.CertificateVerificationError{Err: errors.New("expired")}, FailTLS},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), FailTimeout},
		{"os deadline", os.ErrDeadlineExceeded, FailTimeout},
		{"Timeout() method", fmt.Errorf("reading: %w", timeoutError{}), FailTimeout},
		{"Timeout() method deep in a url.Error", &url.Error{Op: "Get", URL: "u", Err: fmt.Errorf("x: %w", timeoutError{})}, FailTimeout},
		{"Timeout() method in a join", errors.Join(errors.New("a"), timeoutError{}), FailTimeout},
		{"reset", opErr(syscall.ECONNRESET), FailReset},
		{"broken pipe", opErr(syscall.EPIPE), FailReset},
		{"unexpected EOF", fmt.Errorf("body: %w", io.ErrUnexpectedEOF), FailReset},
		{"EOF", io.EOF, FailReset},
		{"cancelled", context.Canceled, FailOther},
		{"other", errors.New("something"), FailOther},
	} {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("%s: Classify(%v) = %q, want %q", tc.name, tc.err, got, tc.want)
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
		if got := Classify(get(closedURL(t))); got != FailRefused {
			t.Errorf("got %q, want %q", got, FailRefused)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := httptest.NewTLSServer(http.NotFoundHandler())
		defer srv.Close()
		srv.Config.ErrorLog = quietLog()
		if got := Classify(get(srv.URL)); got != FailTLS {
			t.Errorf("got %q, want %q", got, FailTLS)
		}
	})
	t.Run("https to a plain server", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		defer srv.Close()
		if got := Classify(get("https" + srv.URL[len("http"):])); got != FailTLS {
			t.Errorf("got %q, want %q", got, FailTLS)
		}
	})
	t.Run("closed without answer", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(hangUp))
		defer srv.Close()
		if got := Classify(get(srv.URL)); got != FailReset {
			t.Errorf("got %q, want %q", got, FailReset)
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
		if got := ParseRetryAfter(tc.v, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}
