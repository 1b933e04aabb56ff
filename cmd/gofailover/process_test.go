package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// binary is the gofailover command built once for the tests that run it as
// a separate process (signals, exit statuses, crashes).
var binary struct {
	once sync.Once
	path string
	err  error
}

func buildBinary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "gofailover-bin-")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "gofailover")
		out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.path != "" {
		os.RemoveAll(filepath.Dir(binary.path))
	}
	os.Exit(code)
}

// process is a gofailover child process.
type process struct {
	cmd    *exec.Cmd
	url    string
	stderr *mirrortest.SyncBuffer
	done   chan struct{}
}

var listeningLine = regexp.MustCompile(`gofailover listening"? addr=(\S+)`)

// startProcess starts the gofailover binary with the given environment
// additions and waits until it listens (or exits).
func startProcess(t testing.TB, env ...string) *process {
	t.Helper()
	return startCommand(t, exec.Command(buildBinary(t)), env...)
}

// startCommand starts cmd, which runs the gofailover binary (perhaps
// through a wrapper such as prlimit), with a test environment plus env, and
// waits until it listens (or exits). The process is killed when the test
// ends.
func startCommand(t testing.TB, cmd *exec.Cmd, env ...string) *process {
	t.Helper()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GOFAILOVER_LISTEN=127.0.0.1:0",
		"GOFAILOVER_SUMDB=off", "GOFAILOVER_PRIVATE=private.invalid", "GOFAILOVER_CACHE_RESERVE=64MiB"}, env...)
	p := &process{cmd: cmd, stderr: &mirrortest.SyncBuffer{}, done: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(p.stderr, pw)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
			p.url = "http://" + m[1]
			go io.Copy(io.Discard, pr)
			return p
		}
	}
	return p // exited before listening
}

// wait waits for the process to exit and returns its exit status.
func (p *process) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("gofailover did not exit; stderr:\n%s", p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

func TestProcessBadSettingsExitTwoWithOneLine(t *testing.T) {
	tests := []struct {
		env  []string
		want string
	}{
		{[]string{"GOFAILOVER_UPSTREAMS=http://a.test", "GOFAILOVER_MUTABLE_TTL=soon"}, "GOFAILOVER_MUTABLE_TTL"},
		{[]string{"GOFAILOVER_UPSTREAMS=gopher://a.test"}, "GOFAILOVER_UPSTREAMS"},
		{[]string{"GOPROXY=direct"}, "GOFAILOVER_UPSTREAMS is not set"},
		{[]string{"GOFAILOVER_UPSTREAMS=http://a.test", "GOFAILOVER_CACHE_DIR=/proc/gofailover"}, "GOFAILOVER_CACHE_DIR"},
		{[]string{"GOFAILOVER_UPSTREAMS=http://a.test", "GOFAILOVER_LISTEN=256.0.0.1:1"}, "GOFAILOVER_LISTEN"},
		{[]string{"GOFAILOVER_UPSTREAMS=http://a.test", "GOFAILOVER_SHARED_STORE=https://bucket.example/x"}, "GOFAILOVER_SHARED_STORE"},
		{[]string{"GOFAILOVER_UPSTREAMS=http://a.test", "GOFAILOVER_SHARED_STORE=s3://ab"}, "GOFAILOVER_SHARED_STORE"},
		{[]string{"GOFAILOVER_UPSTREAMS=http://a.test", "GOFAILOVER_SHARED_STORE=s3://key:secret@bucket"}, "GOFAILOVER_SHARED_STORE"},
		{[]string{"GOFAILOVER_UPSTREAMS=http://a.test", "GOFAILOVER_SHARED_STORE=s3://bucket?endpoint=ftp://x"}, "GOFAILOVER_SHARED_STORE"},
		{[]string{"GOFAILOVER_UPSTREAMS=http://a.test", "GOFAILOVER_SHARED_PRIVATE=maybe"}, "GOFAILOVER_SHARED_PRIVATE"},
		{[]string{"GOFAILOVER_UPSTREAMS=http://a.test", "GOFAILOVER_PREFETCH=always"}, "GOFAILOVER_PREFETCH"},
		{[]string{"GOFAILOVER_UPSTREAMS=http://a.test", "GOFAILOVER_SHARED_REDIRECT_SIZE=1MiB"}, "GOFAILOVER_SHARED_REDIRECT_SIZE"},
	}
	for _, tt := range tests {
		p := startProcess(t, append([]string{"GOFAILOVER_CACHE_DIR=" + t.TempDir()}, tt.env...)...)
		if p.url != "" {
			t.Errorf("%v: started listening", tt.env)
		}
		if code := p.wait(t); code != exitUsage {
			t.Errorf("%v: exit status %d, want %d; stderr:\n%s", tt.env, code, exitUsage, p.stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
			t.Errorf("%v: stderr %q, want one line naming %s", tt.env, p.stderr.String(), tt.want)
		}
	}
}

func TestProcessSecondOnSameCacheExitsTwo(t *testing.T) {
	cacheDir := t.TempDir()
	env := []string{"GOFAILOVER_UPSTREAMS=" + mirrortest.ClosedURL(t), "GOFAILOVER_CACHE_DIR=" + cacheDir}
	first := startProcess(t, env...)
	if first.url == "" {
		t.Fatalf("first process did not start:\n%s", first.stderr.String())
	}
	second := startProcess(t, env...)
	if code := second.wait(t); code != exitUsage {
		t.Errorf("second process exit status %d, want %d", code, exitUsage)
	}
	if got := second.stderr.String(); !strings.Contains(got, "GOFAILOVER_CACHE_DIR") || !strings.Contains(got, "in use") ||
		strings.Count(strings.TrimSpace(got), "\n") != 0 {
		t.Errorf("second process stderr %q, want one line saying the cache is in use", got)
	}
}

// TestProcessSIGTERMDrains shows that SIGTERM lets an in-flight download
// finish, then exits 0 and leaves a cache the next process opens.
func TestProcessSIGTERMDrains(t *testing.T) {
	big, err := mirrortest.SyntheticModule("example.com/big", "v1.0.0", 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	mirror := mirrortest.NewMirror(nil, big)
	defer mirror.Close()
	mirror.SetFault(mirrortest.Slow(time.Second))
	cacheDir := t.TempDir()
	env := []string{"GOFAILOVER_UPSTREAMS=" + mirror.URL(), "GOFAILOVER_CACHE_DIR=" + cacheDir}
	p := startProcess(t, env...)
	if p.url == "" {
		t.Fatalf("did not start:\n%s", p.stderr.String())
	}
	type result struct {
		status int
		body   []byte
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(p.url + "/example.com/big/@v/v1.0.0.zip")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{resp.StatusCode, b, err}
	}()
	time.Sleep(300 * time.Millisecond) // the request is now waiting on the slow mirror
	p.cmd.Process.Signal(syscall.SIGTERM)
	r := <-got
	if r.err != nil || r.status != http.StatusOK || !bytes.Equal(r.body, big.Zip) {
		t.Errorf("in-flight download during SIGTERM: status %d, %d bytes, err %v", r.status, len(r.body), r.err)
	}
	if code := p.wait(t); code != exitOK {
		t.Errorf("exit status %d after SIGTERM, want 0; stderr:\n%s", code, p.stderr.String())
	}
	mirror.Close()
	again := startProcess(t, "GOFAILOVER_UPSTREAMS="+mirrortest.ClosedURL(t), "GOFAILOVER_CACHE_DIR="+cacheDir)
	if again.url == "" {
		t.Fatalf("restart on the same cache failed:\n%s", again.stderr.String())
	}
	resp, err := http.Get(again.url + "/example.com/big/@v/v1.0.0.zip")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(b, big.Zip) {
		t.Errorf("after restart the cached zip is %d bytes, want the original %d", len(b), len(big.Zip))
	}
}

// TestProcessKilledWhileWritingZips kills gofailover with SIGKILL while it is
// storing large zips, several times over; after each kill a new process on
// the same cache, with no upstream, serves every zip either complete and
// byte-for-byte correct or not at all.
func TestProcessKilledWhileWritingZips(t *testing.T) {
	mirror := mirrortest.NewMirror(nil)
	defer mirror.Close()
	cacheDir := t.TempDir()
	want := map[string][32]byte{} // every zip requested so far
	for round, delay := range []time.Duration{0, 10 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond, 5 * time.Second} {
		// Each round asks for new zips, so that every kill lands while
		// some are being written.
		var fresh []string
		for i := range 6 {
			m, err := mirrortest.SyntheticModule(fmt.Sprintf("example.com/r%d/big%d", round, i), "v1.0.0", 8<<20)
			if err != nil {
				t.Fatal(err)
			}
			mirror.Add(m)
			path := "/" + m.Path + "/@v/v1.0.0.zip"
			want[path] = sha256.Sum256(m.Zip)
			fresh = append(fresh, path)
		}
		p := startProcess(t, "GOFAILOVER_UPSTREAMS="+mirror.URL(), "GOFAILOVER_CACHE_DIR="+cacheDir)
		if p.url == "" {
			t.Fatalf("round %d: did not start:\n%s", round, p.stderr.String())
		}
		for _, path := range fresh {
			go func() {
				if resp, err := http.Get(p.url + path); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		midWrite := killWhenWriting(t, p, filepath.Join(cacheDir, "tmp"), delay)
		p.wait(t)

		check := startProcess(t, "GOFAILOVER_UPSTREAMS="+mirrortest.ClosedURL(t), "GOFAILOVER_CACHE_DIR="+cacheDir)
		if check.url == "" {
			t.Fatalf("round %d: the cache did not reopen after SIGKILL:\n%s", round, check.stderr.String())
		}
		complete := 0
		for path, sum := range want {
			resp, err := http.Get(check.url + path)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK && err == nil && sha256.Sum256(b) == sum:
				complete++
			case resp.StatusCode == http.StatusBadGateway:
				// never stored: correct
			default:
				t.Errorf("round %d: %s: status %d, %d bytes, err %v: neither complete nor absent", round, path, resp.StatusCode, len(b), err)
			}
		}
		t.Logf("round %d (a zip was being written when killed: %v): %d of %d zips complete, the rest absent", round, midWrite, complete, len(want))
		check.cmd.Process.Signal(syscall.SIGTERM)
		check.wait(t)
	}
}

// killWhenWriting SIGKILLs p once a temporary file in tmpDir has grown past
// 1 MiB after the given extra delay, or after 5 s whatever happens. It
// reports whether the kill came while such a file existed.
func killWhenWriting(t *testing.T, p *process, tmpDir string, delay time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	seen := false
	for !seen && time.Now().Before(deadline) {
		entries, _ := os.ReadDir(tmpDir)
		for _, e := range entries {
			if info, err := e.Info(); err == nil && info.Size() > 1<<20 {
				seen = true
			}
		}
		if !seen {
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(delay)
	p.cmd.Process.Kill()
	return seen
}

func TestProcessHealthcheckCommand(t *testing.T) {
	p := startProcess(t, "GOFAILOVER_UPSTREAMS="+mirrortest.ClosedURL(t), "GOFAILOVER_CACHE_DIR="+t.TempDir())
	if p.url == "" {
		t.Fatalf("did not start:\n%s", p.stderr.String())
	}
	listen := strings.TrimPrefix(p.url, "http://")
	if out, err := exec.Command(buildBinary(t), "healthcheck", "--listen", listen).CombinedOutput(); err != nil {
		t.Errorf("healthcheck of a running server: %v\n%s", err, out)
	}
	out, err := exec.Command(buildBinary(t), "healthcheck", "--listen", strings.TrimPrefix(mirrortest.ClosedURL(t), "http://")).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitFailed {
		t.Errorf("healthcheck of nothing: %v, want exit status 1\n%s", err, out)
	}
}
