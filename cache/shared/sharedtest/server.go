// Package sharedtest runs a real S3-compatible store, versitygw over a
// temporary directory, for the tests of the shared store and of what uses
// it, like net/http/httptest runs HTTP servers. Objects are plain files
// (Server.ObjectPath), so a test can tamper with one; the server can be
// stopped, restarted on the same port and directory, or replaced by a
// black hole that accepts connections and never answers.
package sharedtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/gofailover/gofailover/cache/shared"
	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// RequireEnv is the environment variable that makes a missing versitygw
// fail the tests that need it rather than skip them; .ci/run sets it.
const RequireEnv = "GOFAILOVER_REQUIRE_S3"

// Region is the region the server answers for.
const Region = "us-east-1"

// startWithin bounds how long a starting server may take to answer.
const startWithin = 20 * time.Second

// Server is a versitygw serving a temporary directory on 127.0.0.1.
type Server struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT.
	Endpoint string
	// Dir is versitygw's posix root: the object KEY of bucket BUCKET is
	// the file Dir/BUCKET/KEY.
	Dir string
	// AccessKey and SecretKey are the root user's credentials, random for
	// each server.
	AccessKey, SecretKey string

	bin  string
	addr string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	out     *mirrortest.SyncBuffer
	hole    net.Listener
	holeWG  sync.WaitGroup
	holeMu  sync.Mutex
	holeCns []net.Conn
}

// Start runs versitygw on a free port of 127.0.0.1 over a temporary
// directory until the test ends, and returns once it answers. Without
// versitygw the test is skipped loudly and noted in ledger (which may be
// nil), or failed under GOFAILOVER_REQUIRE_S3=1.
func Start(tb testing.TB, ledger *mirrortest.SkipLedger) *Server {
	tb.Helper()
	bin := findBinary()
	if bin == "" {
		mirrortest.MissingComponent(tb, ledger, RequireEnv, "the shared-store tests",
			"versitygw is not installed: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
		return nil
	}
	s := &Server{
		Dir:       tb.TempDir(),
		AccessKey: randomHex(tb, 10),
		SecretKey: randomHex(tb, 20),
		bin:       bin,
		out:       &mirrortest.SyncBuffer{},
	}
	tb.Cleanup(func() {
		s.Stop()
		if tb.Failed() {
			tb.Logf("versitygw's output:\n%s", s.out.String())
		}
	})
	// Another process may take the free port between its closing and
	// versitygw's listening: try a few.
	var err error
	for range 5 {
		s.addr = freeAddr(tb)
		s.Endpoint = "http://" + s.addr
		if err = s.start(time.Now().Add(startWithin)); err == nil {
			return s
		}
	}
	tb.Fatalf("sharedtest: starting versitygw: %v", err)
	return nil
}

// Stop kills the server (or the black hole) and waits for it to end. A
// stopped server's port refuses connections until Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Restart stops the server, or the black hole, and starts versitygw again
// on the same port, over the same directory, with the same keys; it
// returns once the server answers.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	// The port may linger for a moment: retry until startWithin passes.
	deadline := time.Now().Add(startWithin)
	var err error
	for time.Now().Before(deadline) {
		if err = s.startLocked(deadline); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("sharedtest: restarting versitygw on %s: %v", s.addr, err)
}

// Blackhole stops the server and listens on its port with a listener that
// accepts connections and never answers them, until Restart or Stop.
func (s *Server) Blackhole(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", s.addr)
		if err == nil {
			s.hole = ln
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("sharedtest: black-holing %s: %v", s.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ln := s.hole
	s.holeWG.Add(1)
	go func() {
		defer s.holeWG.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.holeMu.Lock()
			s.holeCns = append(s.holeCns, c)
			s.holeMu.Unlock()
		}
	}()
}

// Credentials returns the server's root credentials (static, signature
// version 4).
func (s *Server) Credentials() *credentials.Credentials {
	return credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")
}

// Location returns the location of bucket and prefix on the server.
func (s *Server) Location(bucket, prefix string) shared.Location {
	ep, err := url.Parse(s.Endpoint)
	if err != nil {
		panic(fmt.Sprintf("sharedtest: endpoint %q: %v", s.Endpoint, err))
	}
	return shared.Location{Bucket: bucket, Prefix: prefix, Endpoint: ep, Region: Region, PathStyle: true}
}

// Config returns a shared.Config for bucket and prefix on the server, with
// its credentials and the default timeouts.
func (s *Server) Config(bucket, prefix string) shared.Config {
	return shared.Config{Location: s.Location(bucket, prefix), Credentials: s.Credentials()}
}

// URL returns the s3:// URL of bucket and prefix on the server (without
// credentials: see Env).
func (s *Server) URL(bucket, prefix string) string {
	return s.Location(bucket, prefix).String()
}

// Env returns the environment variables that give a child process the
// server's credentials through the AWS credential chain.
func (s *Server) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey}
}

// ObjectPath returns the file that holds object key of bucket.
func (s *Server) ObjectPath(bucket, key string) string {
	return filepath.Join(s.Dir, bucket, filepath.FromSlash(key))
}

// start starts the server under s.mu.
func (s *Server) start(deadline time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked(deadline)
}

// startLocked runs versitygw on s.addr and waits until it answers an HTTP
// request, it exits, or deadline passes.
func (s *Server) startLocked(deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	// --keep-alive: versitygw closes every connection after one request
	// without it, where real stores keep them for the next.
	cmd := exec.Command(s.bin, "--port", s.addr, "--quiet", "--keep-alive", "posix", s.Dir)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"ROOT_ACCESS_KEY=" + s.AccessKey,
		"ROOT_SECRET_KEY=" + s.SecretKey,
	}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+"/", nil)
		if err != nil {
			s.stopLocked()
			return fmt.Errorf("probing %s: %w", s.Endpoint, err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.Header.Get("Server") == "VERSITYGW" || resp.StatusCode == http.StatusForbidden {
				return nil
			}
		}
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("versitygw on %s exited at start (port taken?): %s", s.addr, lastLine(s.out.String()))
		case <-ctx.Done():
			s.stopLocked()
			return fmt.Errorf("versitygw on %s did not answer within %v", s.addr, startWithin)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stopLocked kills the server and closes the black hole, under s.mu.
func (s *Server) stopLocked() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.cmd = nil
	}
	if s.hole != nil {
		s.hole.Close()
		s.holeWG.Wait()
		s.holeMu.Lock()
		for _, c := range s.holeCns {
			c.Close()
		}
		s.holeCns = nil
		s.holeMu.Unlock()
		s.hole = nil
	}
}

// findBinary returns versitygw's path, from PATH or the Go bin directory,
// or "" when it is in neither.
func findBinary() string {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for d := range strings.SplitSeq(strings.TrimSpace(string(out)), string(os.PathListSeparator)) {
			dirs = append(dirs, d)
		}
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		dirs = append(dirs, filepath.SplitList(gp)...)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("sharedtest: finding a free port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// randomHex returns n random bytes in hex.
func randomHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("sharedtest: random key: %v", err)
	}
	return hex.EncodeToString(b)
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
