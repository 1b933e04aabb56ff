package shared_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/gofailover/gofailover/cache/shared"
	"github.com/gofailover/gofailover/cache/shared/sharedtest"
	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// openStore starts a versitygw and opens a store on bucket "gofailover"
// with prefix "p" and a 1 s timeout.
func openStore(t *testing.T) (*sharedtest.Server, *shared.Store) {
	t.Helper()
	srv := sharedtest.Start(t, &skipped)
	cfg := srv.Config("gofailover", "p")
	cfg.Timeout = time.Second
	cfg.IdleTimeout = 2 * time.Second
	st, err := shared.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return srv, st
}

// mustPut stores body under path, without metadata, or fails the test.
func mustPut(t *testing.T, st *shared.Store, path, body string) {
	t.Helper()
	if err := st.Put(context.Background(), path, strings.NewReader(body), int64(len(body)), shared.Meta{}, false); err != nil {
		t.Fatalf("Put %s: %v", path, err)
	}
}

func TestOpenCreatesBucket(t *testing.T) {
	srv, st := openStore(t)
	if fi, err := os.Stat(srv.Dir + "/gofailover"); err != nil || !fi.IsDir() {
		t.Fatalf("bucket directory after Open: %v", err)
	}
	if err := st.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	// A second Open finds the bucket.
	if _, err := shared.Open(context.Background(), srv.Config("gofailover", "")); err != nil {
		t.Fatalf("second Open: %v", err)
	}
	if got, want := st.Key("/github.com/!foo/bar/@v/v1.2.3.zip"), "p/github.com/!foo/bar/@v/v1.2.3.zip"; got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}
}

func TestOpenBadCredentials(t *testing.T) {
	srv := sharedtest.Start(t, &skipped)
	cfg := srv.Config("gofailover", "p")
	cfg.Credentials = credentials.NewStaticV4(srv.AccessKey, "not-the-secret-key", "")
	_, err := shared.Open(context.Background(), cfg)
	if err == nil {
		t.Fatal("Open with a wrong secret key succeeded")
	}
	msg := err.Error()
	t.Logf("Open: %v", err)
	if strings.Contains(msg, "\n") || !strings.Contains(msg, `bucket "gofailover"`) || !strings.Contains(msg, "s3://gofailover/p") ||
		strings.Contains(msg, "not-the-secret-key") || strings.Contains(msg, srv.AccessKey) {
		t.Errorf("Open's error %q: want one line naming the store and the bucket, without credentials", msg)
	}
	if errors.Is(err, shared.ErrUnreachable) {
		t.Errorf("a store that answered Access Denied is called unreachable: %v", err)
	}
}

// TestOpenUnreachable: a store that cannot be connected to, or does not
// answer, gives an error wrapping ErrUnreachable, naming the bucket.
func TestOpenUnreachable(t *testing.T) {
	srv := sharedtest.Start(t, &skipped)
	srv.Stop()
	cfg := srv.Config("gofailover", "p")
	cfg.Timeout = 300 * time.Millisecond
	_, err := shared.Open(context.Background(), cfg)
	if !errors.Is(err, shared.ErrUnreachable) || !strings.Contains(err.Error(), `bucket "gofailover"`) {
		t.Fatalf("Open of a stopped store: %v, want ErrUnreachable naming the bucket", err)
	}
	srv.Blackhole(t)
	if _, err := shared.Open(context.Background(), cfg); !errors.Is(err, shared.ErrUnreachable) {
		t.Fatalf("Open of a blackholed store: %v, want ErrUnreachable", err)
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	srv, st := openStore(t)
	ctx := context.Background()
	body := bytes.Repeat([]byte("module bytes "), 10000)
	m := shared.Meta{
		SHA256:   sha256.Sum256(body),
		StoredAt: time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC),
		Verified: "sumdb:sum.example.org",
		Upstream: "https://mirror.example.org/",
	}
	const path = "/github.com/!foo/bar/@v/v1.2.3.zip"
	if err := st.Put(ctx, path, bytes.NewReader(body), int64(len(body)), m, false); err != nil {
		t.Fatalf("Put: %v", err)
	}
	onDisk, err := os.ReadFile(srv.ObjectPath("gofailover", st.Key(path)))
	if err != nil || !bytes.Equal(onDisk, body) {
		t.Fatalf("object file: %d bytes, %v; want the %d bytes put", len(onDisk), err, len(body))
	}
	obj, err := st.Get(ctx, path)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	got, err := io.ReadAll(obj.Body)
	obj.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("Get's body: %d bytes, %v; want the %d bytes put", len(got), err, len(body))
	}
	if obj.Meta != m {
		t.Errorf("Get's meta = %+v, want %+v", obj.Meta, m)
	}
	if obj.Key != "p/github.com/!foo/bar/@v/v1.2.3.zip" || obj.Size != int64(len(body)) || obj.ETag == "" {
		t.Errorf("Get: key %q, size %d, etag %q", obj.Key, obj.Size, obj.ETag)
	}
	stat, err := st.Stat(ctx, path)
	if err != nil || stat.Meta != m || stat.Size != obj.Size || stat.ETag != obj.ETag || stat.Body != nil {
		t.Errorf("Stat = %+v, %v", stat, err)
	}
	// An object without metadata reads with a zero Meta.
	if err := st.Put(ctx, "/x/@v/list", strings.NewReader("v1.0.0\n"), 7, shared.Meta{}, false); err != nil {
		t.Fatalf("Put without metadata: %v", err)
	}
	if s, err := st.Stat(ctx, "/x/@v/list"); err != nil || s.Meta != (shared.Meta{}) {
		t.Errorf("Stat of an object without metadata = %+v, %v", s, err)
	}
}

func TestNotFound(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	if _, err := st.Get(ctx, "/nothing/@v/v1.0.0.mod"); !errors.Is(err, shared.ErrNotFound) {
		t.Errorf("Get of an absent object: %v, want ErrNotFound", err)
	} else if !strings.Contains(err.Error(), "p/nothing/@v/v1.0.0.mod") {
		t.Errorf("Get's error %q does not name the key", err)
	}
	if _, err := st.Stat(ctx, "/nothing/@v/v1.0.0.mod"); !errors.Is(err, shared.ErrNotFound) {
		t.Errorf("Stat of an absent object: %v, want ErrNotFound", err)
	}
}

func TestPutIfAbsent(t *testing.T) {
	srv, st := openStore(t)
	ctx := context.Background()
	const path = "/m/@v/v1.0.0.mod"
	if err := st.Put(ctx, path, strings.NewReader("first"), 5, shared.Meta{Upstream: "a"}, true); err != nil {
		t.Fatalf("first Put: %v", err)
	}
	err := st.Put(ctx, path, strings.NewReader("second"), 6, shared.Meta{Upstream: "b"}, true)
	if !errors.Is(err, shared.ErrExists) {
		t.Fatalf("second Put with ifAbsent: %v, want ErrExists", err)
	}
	if b, err := os.ReadFile(srv.ObjectPath("gofailover", st.Key(path))); err != nil || string(b) != "first" {
		t.Errorf("object after the refused Put: %q, %v; want %q", b, err, "first")
	}
	if s, err := st.Stat(ctx, path); err != nil || s.Upstream != "a" {
		t.Errorf("meta after the refused Put: %+v, %v", s, err)
	}
	// Without ifAbsent, the object is replaced.
	if err := st.Put(ctx, path, strings.NewReader("second"), 6, shared.Meta{Upstream: "b"}, false); err != nil {
		t.Fatalf("unconditional Put: %v", err)
	}
	if b, _ := os.ReadFile(srv.ObjectPath("gofailover", st.Key(path))); string(b) != "second" {
		t.Errorf("object after the unconditional Put: %q", b)
	}
}

func TestDelete(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	const path = "/m/@v/v1.0.0.info"
	mustPut(t, st, path, "{}")
	if err := st.Delete(ctx, path); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := st.Get(ctx, path); !errors.Is(err, shared.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := st.Delete(ctx, path); err != nil {
		t.Errorf("Delete of an absent object: %v", err)
	}
}

// getPresigned fetches a presigned URL of the object at path with plain
// net/http, as a client redirected to it would.
func getPresigned(t *testing.T, st *shared.Store, path string) (*http.Response, []byte) {
	t.Helper()
	u, err := st.PresignGet(context.Background(), path, time.Minute)
	if err != nil {
		t.Fatalf("PresignGet: %v", err)
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatalf("GET of the presigned URL: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET of the presigned URL: %v", err)
	}
	return resp, b
}

func TestPresignGet(t *testing.T) {
	_, st := openStore(t)
	const path = "/m/@v/v1.0.0.zip"
	mustPut(t, st, path, "zip bytes")
	resp, b := getPresigned(t, st, path)
	if resp.StatusCode != http.StatusOK || string(b) != "zip bytes" {
		t.Errorf("GET of the presigned URL: %s %q", resp.Status, b)
	}
}

// TestPutStoresPlainBytes: an object is stored as its bytes, without the
// aws-chunked Content-Encoding of a streaming-signed upload over plain
// http, so that a presigned GET (where clients are redirected) answers
// exactly the bytes with no encoding to undo; and the store refuses bytes
// that do not hash to the SHA-256 in their metadata.
func TestPutStoresPlainBytes(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	const path = "/m/@v/v1.0.0.zip"
	body := bytes.Repeat([]byte("zip bytes "), 10000)
	if err := st.Put(ctx, path, bytes.NewReader(body), int64(len(body)), shared.Meta{SHA256: sha256.Sum256(body)}, true); err != nil {
		t.Fatalf("Put: %v", err)
	}
	resp, b := getPresigned(t, st, path)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, body) {
		t.Errorf("GET of the presigned URL: %s, %d bytes, want %d", resp.Status, len(b), len(body))
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" {
		t.Errorf("GET of the presigned URL: Content-Encoding %q, want none", ce)
	}

	const lying = "/m/@v/v1.0.1.zip"
	err := st.Put(ctx, lying, bytes.NewReader(body), int64(len(body)), shared.Meta{SHA256: sha256.Sum256([]byte("other"))}, true)
	if err == nil {
		t.Fatal("Put of bytes that do not match their SHA-256 succeeded")
	}
	if _, err := st.Stat(ctx, lying); !errors.Is(err, shared.ErrNotFound) {
		t.Errorf("after a refused Put: Stat = %v, want ErrNotFound", err)
	}
}

func TestStoppedServer(t *testing.T) {
	srv, st := openStore(t)
	ctx := context.Background()
	mustPut(t, st, "/a/@v/list", "x")
	srv.Stop()
	start := time.Now()
	_, err := st.Get(ctx, "/a/@v/list")
	if err == nil || errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("Get from a stopped server: %v, want a failure", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Get from a stopped server took %v", d)
	}
	if err := st.Ping(ctx); err == nil {
		t.Error("Ping of a stopped server succeeded")
	}
	srv.Restart(t)
	obj, err := st.Get(ctx, "/a/@v/list")
	if err != nil {
		t.Fatalf("Get after Restart: %v", err)
	}
	obj.Body.Close()
	if err := st.Put(ctx, "/a/@v/list", strings.NewReader("y"), 1, shared.Meta{}, false); err != nil {
		t.Fatalf("Put after Restart: %v", err)
	}
}

func TestBlackholedServer(t *testing.T) {
	srv, st := openStore(t) // 1 s timeout
	ctx := context.Background()
	srv.Blackhole(t)
	for _, op := range []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := st.Get(ctx, "/a/@v/list"); return err }},
		{"Ping", func() error { return st.Ping(ctx) }},
		{"Put", func() error {
			return st.Put(ctx, "/a/@v/list", strings.NewReader("x"), 1, shared.Meta{}, true)
		}},
	} {
		start := time.Now()
		err := op.call()
		d := time.Since(start)
		t.Logf("%s from a black hole after %v: %v", op.name, d, err)
		if err == nil {
			t.Errorf("%s from a black hole succeeded", op.name)
		}
		if d > 5*time.Second {
			t.Errorf("%s from a black hole took %v, timeout 1s", op.name, d)
		}
	}
	srv.Restart(t)
	if err := st.Ping(ctx); err != nil {
		t.Errorf("Ping after Restart: %v", err)
	}
}

// stallingS3 is a server that passes for an S3 store (its bucket exists)
// but stalls every object's body after its first bytes, and never reads
// an upload's body, until the test ends.
func stallingS3(t *testing.T) *httptest.Server {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodHead:
			w.WriteHeader(http.StatusOK)
		case r.Method == http.MethodGet:
			w.Header().Set("Content-Length", "1000")
			w.Header().Set("ETag", `"e"`)
			w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("first bytes"))
			w.(http.Flusher).Flush()
			<-done
		case r.Method == http.MethodPut:
			<-done
		}
	}))
	t.Cleanup(func() {
		close(done)
		srv.Close()
	})
	return srv
}

func TestIdleTimeouts(t *testing.T) {
	srv := stallingS3(t)
	ep, _ := url.Parse(srv.URL)
	st, err := shared.Open(context.Background(), shared.Config{
		Location:    shared.Location{Bucket: "bucket", Endpoint: ep, Region: "us-east-1", PathStyle: true},
		Credentials: credentials.NewStaticV4("access", "secret", ""),
		Timeout:     time.Second,
		IdleTimeout: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx := context.Background()

	obj, err := st.Get(ctx, "/m/@v/v1.0.0.zip")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	start := time.Now()
	b, err := io.ReadAll(obj.Body)
	d := time.Since(start)
	obj.Body.Close()
	t.Logf("stalled body: %q, %v after %v", b, err, d)
	if err == nil || !strings.Contains(err.Error(), "stalled") || string(b) != "first bytes" {
		t.Errorf("read of a stalled body: %q, %v; want the first bytes, then a stall", b, err)
	}
	if d > 2500*time.Millisecond {
		t.Errorf("a body stalled for an idle timeout of 500ms failed after %v", d)
	}

	// A slow reader is not a stalled store: the idle timer runs only
	// while a read waits.
	obj, err = st.Get(ctx, "/m/@v/v1.0.0.zip")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	time.Sleep(time.Second)
	if n, err := obj.Body.Read(make([]byte, 5)); n != 5 || err != nil {
		t.Errorf("first read after a pause longer than the idle timeout: %d, %v", n, err)
	}
	obj.Body.Close()

	// An upload the store stops taking fails once the socket buffers are
	// full and no byte is taken for the idle timeout.
	const size = 256 << 20
	start = time.Now()
	err = st.Put(ctx, "/m/@v/v1.0.0.zip", io.LimitReader(zeros{}, size), size, shared.Meta{}, false)
	d = time.Since(start)
	t.Logf("stalled upload: %v after %v", err, d)
	if err == nil || !strings.Contains(err.Error(), "stalled") {
		t.Errorf("upload to a store that takes no byte: %v, want a stall", err)
	}
	if d > 10*time.Second {
		t.Errorf("upload stalled for an idle timeout of 500ms failed after %v", d)
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

// Read implements io.Reader.
func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestStatusRoundTrip: a "not found" answer's status is kept in its
// metadata.
func TestStatusRoundTrip(t *testing.T) {
	_, st := openStore(t)
	ctx := context.Background()
	reason := []byte("not found: no such module")
	m := shared.Meta{SHA256: sha256.Sum256(reason), StoredAt: time.Now(), Status: http.StatusNotFound}
	if err := st.Put(ctx, "/example.com/@v/list", bytes.NewReader(reason), int64(len(reason)), m, false); err != nil {
		t.Fatal(err)
	}
	obj, err := st.Get(ctx, "/example.com/@v/list")
	if err != nil {
		t.Fatal(err)
	}
	obj.Body.Close()
	if obj.Status != http.StatusNotFound {
		t.Errorf("status %d read back, want 404", obj.Status)
	}
}

// TestHTTPSEndpointVerifiesCertificates: an https endpoint whose
// certificate does not verify is refused, and the refusal is not taken
// for a store that merely does not answer.
func TestHTTPSEndpointVerifiesCertificates(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request reached a store whose certificate does not verify: %s %s", r.Method, r.URL)
	}))
	srv.Config.ErrorLog = mirrortest.QuietLog()
	defer srv.Close()
	loc, err := shared.ParseURL("s3://gofailover?endpoint=" + srv.URL + "&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = shared.Open(context.Background(), shared.Config{Location: loc, Credentials: credentials.NewStaticV4("id", "secret", "")})
	if err == nil || errors.Is(err, shared.ErrUnreachable) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Open of a store with an untrusted certificate: %v, want a certificate error", err)
	}
}
