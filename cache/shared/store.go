package shared

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Default timeouts of a Config left zero.
const (
	DefaultTimeout     = 2 * time.Second
	DefaultIdleTimeout = 10 * time.Second
)

// Config says where the shared store is and how patient to be with it.
type Config struct {
	// Location is the bucket, prefix and endpoint (see ParseURL).
	Location Location
	// Timeout bounds each call until its response header arrives (for an
	// upload, from its last byte being sent); zero means DefaultTimeout.
	Timeout time.Duration
	// IdleTimeout fails a body read, or an upload, that makes no progress
	// for this long; zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Logger receives the store's log lines; nil discards them.
	Logger *slog.Logger
	// Credentials sign the requests; nil means the standard AWS chain: the
	// environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
	// AWS_SESSION_TOKEN), the shared config and credentials files (with
	// AWS_PROFILE), then IAM roles (EC2 instance, ECS, web identity).
	Credentials *credentials.Credentials
	// Transport carries the requests; nil means a clone of
	// http.DefaultTransport with connect and handshake timeouts of
	// Timeout (https verifies certificates).
	Transport http.RoundTripper
}

// Store is a client of the shared store. It is safe for concurrent use.
type Store struct {
	loc    Location
	name   string // loc.String(), for errors and logs
	client *minio.Client
	core   minio.Core
	log    *slog.Logger
}

// ErrUnreachable is wrapped by the errors of calls that got no answer
// from the store at all: it could not be connected to, or did not answer
// in time. (An error the store answered with, such as Access Denied, does
// not wrap it.)
var ErrUnreachable = errors.New("shared store unreachable")

// Open connects to the store in cfg and makes sure its bucket exists,
// creating it (in cfg.Location.Region) when it does not: New, then
// EnsureBucket. Each call it makes is bounded by cfg.Timeout.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.EnsureBucket(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// New returns a client of the store in cfg. It makes no call.
func New(cfg Config) (*Store, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	loc := cfg.Location
	name := loc.String()
	if err := checkBucket(loc.Bucket); err != nil {
		return nil, fmt.Errorf("shared store %s: %w", name, err)
	}
	creds := cfg.Credentials
	if creds == nil {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
			&credentials.IAM{},
		})
	}
	base := cfg.Transport
	if base == nil {
		base = defaultTransport(cfg.Timeout)
	}
	host, secure := DefaultEndpoint, true
	if loc.Endpoint != nil {
		host, secure = loc.Endpoint.Host, loc.Endpoint.Scheme == "https"
	}
	lookup := minio.BucketLookupDNS
	if loc.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Transport:    &watchTransport{base: base, timeout: cfg.Timeout, idle: cfg.IdleTimeout},
		Region:       loc.Region,
		BucketLookup: lookup,
		// gofailover has its own breaker and upload retries: minio-go's
		// default of 10 attempts would defeat the timeouts.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("shared store %s: making the client: %w", name, err)
	}
	return &Store{loc: loc, name: name, client: client, core: minio.Core{Client: client}, log: log}, nil
}

// EnsureBucket makes sure the store's bucket exists, creating it when it
// does not. Its error names the bucket and the call that failed, and wraps
// ErrUnreachable when the store gave no answer.
func (s *Store) EnsureBucket(ctx context.Context) error {
	loc := s.loc
	exists, err := s.client.BucketExists(ctx, loc.Bucket)
	if err != nil {
		return fmt.Errorf("shared store %s: checking bucket %q: %w", s.name, loc.Bucket, unreachable(err))
	}
	if !exists {
		err := s.client.MakeBucket(ctx, loc.Bucket, minio.MakeBucketOptions{Region: loc.Region})
		if err != nil && minio.ToErrorResponse(err).Code != minio.BucketAlreadyOwnedByYou {
			return fmt.Errorf("shared store %s: creating bucket %q: %w", s.name, loc.Bucket, unreachable(err))
		}
		if err == nil {
			s.log.Info("shared store: created its bucket", "store", s.name, "bucket", loc.Bucket)
		}
	}
	return nil
}

// unreachable marks err as ErrUnreachable when the store did not answer
// with an error of its own. A certificate that does not verify is not
// that: the endpoint is wrong, or not who it says it is.
func unreachable(err error) error {
	var cert *tls.CertificateVerificationError
	if minio.ToErrorResponse(err).Code == "" && !errors.As(err, &cert) {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return err
}

// defaultTransport is a clone of http.DefaultTransport whose connections
// are made, and whose TLS handshakes done, within timeout.
func defaultTransport(timeout time.Duration) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = timeout
	t.MaxIdleConnsPerHost = 32
	t.ExpectContinueTimeout = time.Second
	return t
}

// Location returns where the store is.
func (s *Store) Location() Location { return s.loc }

// Ping asks whether the bucket is there, within the timeout: a cheap
// health check.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.loc.Bucket)
	if err != nil {
		return fmt.Errorf("shared store %s: checking bucket %q: %w", s.name, s.loc.Bucket, err)
	}
	if !ok {
		return fmt.Errorf("shared store %s: bucket %q does not exist", s.name, s.loc.Bucket)
	}
	return nil
}

// fail wraps err as the failure of op on key.
func (s *Store) fail(op, key string, err error) error {
	return fmt.Errorf("shared store %s: %s %q: %w", s.name, op, key, err)
}

// isNotFound reports whether err is the store's "no such key" (or a 404,
// as a HEAD request's answer has no body to name the code).
func isNotFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == minio.NoSuchKey || r.StatusCode == http.StatusNotFound && r.Code != minio.NoSuchBucket
}

// isPreconditionFailed reports whether err is a 412 to a conditional
// request.
func isPreconditionFailed(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == minio.PreconditionFailed || r.StatusCode == http.StatusPreconditionFailed
}
