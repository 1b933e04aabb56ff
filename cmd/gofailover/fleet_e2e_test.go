package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/module"

	"github.com/gofailover/gofailover/cache/shared"
	"github.com/gofailover/gofailover/cache/shared/sharedtest"
	"github.com/gofailover/gofailover/proxy/mirrortest"
	"github.com/gofailover/gofailover/proxy/statuspage"
)

// fleetBucket is the bucket the replicas of a test share.
const fleetBucket = "fleet"

// startSharedStore runs a real versitygw for the test and puts its
// credentials where the AWS chain finds them: the environment (of this
// process, for in-process servers; Env gives them to child processes).
func startSharedStore(t testing.TB) *sharedtest.Server {
	t.Helper()
	srv := sharedtest.Start(t, nil)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return srv
}

// TestGoCommandFleetSharesOneStore: replica A downloads the module set
// cold for the real go command and stops gracefully; replica B, with an
// empty cache and its only mirror failing every request, serves the
// whole set from the shared store, and the go command verifies every
// module against the checksum database through B. B's mirror saw no
// request.
func TestGoCommandFleetSharesOneStore(t *testing.T) {
	srv := startSharedStore(t)
	mods, db := fixtures(t)
	mirror := mirrortest.NewMirror(db, mods...)
	defer mirror.Close()
	store := "GOFAILOVER_SHARED_STORE=" + srv.URL(fleetBucket, "")
	t.Run("replica A, cold", func(t *testing.T) {
		goDownloadAndGet(t, startServer(t, t.TempDir(), db, []string{mirror.URL()}, store), db, mods)
	}) // A stops gracefully here: its uploads drain

	sick := mirrortest.NewMirror(db, mods...)
	defer sick.Close()
	sick.SetFault(mirrortest.Status(http.StatusServiceUnavailable))
	t.Run("replica B, every mirror failing", func(t *testing.T) {
		goDownloadAndGet(t, startServer(t, t.TempDir(), db, []string{sick.URL()}, store, "GOFAILOVER_PROBE_INTERVAL=0"), db, mods)
	})
	// Nothing of the set: none of its modules' files, lookups or tiles.
	// (Answers that can change, and "not found" answers, B asks of its
	// mirrors first: the store's copies stand in only when none answers.)
	var set []string
	for _, m := range mods {
		esc, _ := module.EscapePath(m.Path)
		set = append(set, "/"+esc+"/@v/"+m.Version+".", "/sumdb/sumdb.test/lookup/"+esc+"@"+m.Version)
	}
	for _, r := range sick.Requests() {
		for _, prefix := range set {
			if strings.HasPrefix(r, prefix) || strings.Contains(r, "/tile/") {
				t.Errorf("replica B asked its mirror for %s", r)
			}
		}
	}
}

// TestProcessKilledMidUploadLeavesNoPartialObject: a replica SIGKILLed
// while it uploads a large zip to the shared store leaves no object under
// the zip's key, or the whole zip: never part of one; and another replica
// serves the honest zip, from the store or its mirror. The replica reaches
// the store through a relay that slows uploads down and counts their
// bytes, so that every kill lands mid-upload, at a different point.
func TestProcessKilledMidUploadLeavesNoPartialObject(t *testing.T) {
	srv := startSharedStore(t)
	relay := newUploadRelay(t, strings.TrimPrefix(srv.Endpoint, "http://"))
	mirror := mirrortest.NewMirror(nil)
	defer mirror.Close()
	raw, err := shared.Open(context.Background(), srv.Config(fleetBucket, ""))
	if err != nil {
		t.Fatal(err)
	}
	viaRelay := "GOFAILOVER_SHARED_STORE=s3://" + fleetBucket + "?endpoint=http://" + relay.addr + "&region=" + sharedtest.Region
	for round, killAt := range []int64{1 << 20, 8 << 20, 20 << 20} {
		m, err := mirrortest.SyntheticModule(fmt.Sprintf("example.com/big%d", round), "v1.0.0", 24<<20)
		if err != nil {
			t.Fatal(err)
		}
		mirror.Add(m)
		path := "/" + m.Path + "/@v/v1.0.0.zip"
		want := sha256.Sum256(m.Zip)

		p := startProcess(t, append(srv.Env(), viaRelay, "GOFAILOVER_UPSTREAMS="+mirror.URL(), "GOFAILOVER_CACHE_DIR="+t.TempDir())...)
		if p.url == "" {
			t.Fatalf("round %d: did not start:\n%s", round, p.stderr.String())
		}
		if code, body := httpGet(t, p.url+path); code != http.StatusOK || sha256.Sum256(body) != want {
			t.Fatalf("round %d: the replica answered %d, %d bytes", round, code, len(body))
		}
		deadline := time.Now().Add(20 * time.Second)
		for relay.largest.Load() < killAt && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.wait(t)
		sent := relay.largest.Swap(0)
		if sent < killAt || sent >= int64(len(m.Zip)) {
			t.Fatalf("round %d: killed after %d bytes of the %d-byte upload had gone out, want %d to the end", round, sent, len(m.Zip), killAt)
		}

		// The store holds nothing under the key: the upload was cut.
		if _, err := raw.Stat(context.Background(), path); !errors.Is(err, shared.ErrNotFound) {
			t.Fatalf("round %d: killed %d bytes into the upload, the store has %s: %v", round, sent, path, err)
		}
		// Another replica serves the honest zip.
		other := startServer(t, t.TempDir(), nil, []string{mirror.URL()}, "GOFAILOVER_SHARED_STORE="+srv.URL(fleetBucket, ""))
		if code, body := httpGet(t, other+path); code != http.StatusOK || sha256.Sum256(body) != want {
			t.Fatalf("round %d: another replica answered %d, %d bytes", round, code, len(body))
		}
		t.Logf("round %d: killed %d bytes into the upload: no object; another replica served the honest zip", round, sent)
	}
}

// uploadRelay forwards connections to a store, passing what clients send
// at most uploadRelayRate bytes per second, and notes the most bytes any
// one connection has sent.
type uploadRelay struct {
	addr    string
	largest atomic.Int64
}

// uploadRelayRate is how fast a relayed upload goes.
const uploadRelayRate = 16 << 20

func newUploadRelay(t *testing.T, target string) *uploadRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &uploadRelay{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { r.relay(c, target) })
		}
	})
	return r
}

// relay forwards one connection.
func (r *uploadRelay) relay(c net.Conn, target string) {
	defer c.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	go func() {
		io.Copy(c, s)
		c.Close()
	}()
	buf := make([]byte, 64<<10)
	var sent int64
	start := time.Now()
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := s.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
			for old := r.largest.Load(); sent > old && !r.largest.CompareAndSwap(old, sent); old = r.largest.Load() {
			}
			if ahead := time.Duration(sent)*time.Second/uploadRelayRate - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
		if err != nil {
			return
		}
	}
}

// TestProcessSharedStoreStartUp: credentials the store refuses stop
// start-up with one line naming the bucket and the call that failed; a
// store that does not answer does not stop it (the replica serves from
// its mirror alone); and the credentials appear in no log line.
func TestProcessSharedStoreStartUp(t *testing.T) {
	srv := startSharedStore(t)
	mods, db := fixtures(t)
	mirror := mirrortest.NewMirror(db, mods...)
	defer mirror.Close()
	store := "GOFAILOVER_SHARED_STORE=" + srv.URL(fleetBucket, "")

	refused := startProcess(t, "GOFAILOVER_UPSTREAMS="+mirror.URL(), "GOFAILOVER_CACHE_DIR="+t.TempDir(), store,
		"AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY=not-the-secret")
	if code := refused.wait(t); code != exitUsage {
		t.Errorf("refused credentials: exit status %d, want %d", code, exitUsage)
	}
	lines := strings.Split(strings.TrimSpace(refused.stderr.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "GOFAILOVER_SHARED_STORE") || !strings.Contains(lines[0], `bucket "fleet"`) ||
		strings.Contains(lines[0], "not-the-secret") {
		t.Errorf("refused credentials: stderr %q, want one line naming the setting and the bucket, without the secret", refused.stderr.String())
	}

	dead := "GOFAILOVER_SHARED_STORE=s3://" + fleetBucket + "?endpoint=" + mirrortest.ClosedURL(t)
	alone := startProcess(t, append(srv.Env(), "GOFAILOVER_UPSTREAMS="+mirror.URL(), "GOFAILOVER_CACHE_DIR="+t.TempDir(),
		"GOFAILOVER_SUMDB="+db.VerifierKey, "GOFAILOVER_SHARED_TIMEOUT=200ms", dead)...)
	if alone.url == "" {
		t.Fatalf("a store that does not answer stopped start-up:\n%s", alone.stderr.String())
	}
	lib := latest(mods, "example.com/lib")
	for _, p := range []string{"/example.com/lib/@v/list", "/example.com/lib/@v/" + lib.Version + ".zip"} {
		if code, _ := httpGet(t, alone.url+p); code != http.StatusOK {
			t.Errorf("GET %s with the store unreachable: %d", p, code)
		}
	}
	alone.cmd.Process.Signal(syscall.SIGTERM)
	alone.wait(t)
	for _, kv := range srv.Env() {
		if _, secret, _ := strings.Cut(kv, "="); strings.Contains(alone.stderr.String(), secret) {
			t.Errorf("a log line holds a credential:\n%s", alone.stderr.String())
		}
	}
}

// TestGoCommandSharedStoreDownMidRun: with the shared store blackholed
// (accepting connections, never answering) or killed while replicas run,
// the go command sees no error: a replica with an empty cache serves the
// set from its mirror; /status.json and /metrics show the store down;
// and once the store is back, the uploads that waited go through.
func TestGoCommandSharedStoreDownMidRun(t *testing.T) {
	for _, how := range []string{"blackholed", "killed"} {
		t.Run(how, func(t *testing.T) {
			srv := startSharedStore(t)
			mods, db := fixtures(t)
			mirror := mirrortest.NewMirror(db, mods...)
			defer mirror.Close()
			env := []string{"GOFAILOVER_SHARED_STORE=" + srv.URL(fleetBucket, ""), "GOFAILOVER_SHARED_TIMEOUT=300ms",
				"GOFAILOVER_PROBE_INTERVAL=100ms", "GOFAILOVER_BREAKER_BACKOFF=200ms", "GOFAILOVER_BREAKER_MAX_BACKOFF=200ms"}
			url := startServer(t, t.TempDir(), db, []string{mirror.URL()}, env...)
			if how == "blackholed" {
				srv.Blackhole(t)
			} else {
				srv.Stop()
			}
			goDownloadAndGet(t, url, db, mods)

			var st statuspage.Report
			deadline := time.Now().Add(10 * time.Second)
			for {
				_, body := httpGet(t, url+"/status.json")
				if err := json.Unmarshal(body, &st); err != nil {
					t.Fatal(err)
				}
				if st.SharedStore != nil && (st.SharedStore.State == "open" || st.SharedStore.State == "half-open") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the store %s does not show as down in /status.json: %+v", how, st.SharedStore)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if _, metrics := httpGet(t, url+"/metrics"); !regexp.MustCompile(`(?m)^gofailover_shared_store_up\{[^}]*\} 0$`).Match(metrics) {
				t.Errorf("/metrics does not show the store down")
			}
			if st.SharedStore.Uploads.Queue == 0 {
				t.Errorf("no upload waits while the store is %s: %+v", how, st.SharedStore.Uploads)
			}

			srv.Restart(t)
			deadline = time.Now().Add(15 * time.Second)
			for {
				_, body := httpGet(t, url+"/status.json")
				if err := json.Unmarshal(body, &st); err != nil {
					t.Fatal(err)
				}
				if st.SharedStore.State == "healthy" && st.SharedStore.Uploads.Queue == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the uploads did not resume once the store was back: %+v", st.SharedStore)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if st.SharedStore.Uploads.Uploaded == 0 {
				t.Errorf("nothing uploaded once the store was back: %+v", st.SharedStore.Uploads)
			}
		})
	}
}
