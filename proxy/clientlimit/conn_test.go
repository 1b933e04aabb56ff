package clientlimit_test

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/clientlimit"
)

// fileHandler serves the file at path with http.ServeContent, as the
// proxy serves cached answers, and sends on done when it returns.
func fileHandler(path string, done chan<- struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if done != nil {
				done <- struct{}{}
			}
		}()
		f, err := os.Open(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		http.ServeContent(w, r, "", time.Time{}, f)
	})
}

// randomFile writes n random bytes to a file and returns its path and
// content.
func randomFile(t *testing.T, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	path := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, b
}

func TestAnswersFromFilesArriveWhole(t *testing.T) {
	path, content := randomFile(t, 3*clientlimit.WriteChunk+7)
	r := newRig(t, clientlimit.Config{MaxConns: 10, WriteTimeout: 5 * time.Second}, fileHandler(path, nil), nil)
	for _, rng := range []string{"", "bytes=100-", fmt.Sprintf("bytes=10-%d", 2*clientlimit.WriteChunk+10)} {
		req, _ := http.NewRequest("GET", "http://"+r.addr+"/blob", nil)
		want := content
		if rng != "" {
			req.Header.Set("Range", rng)
			var from, to int
			if n, _ := fmt.Sscanf(rng, "bytes=%d-%d", &from, &to); n == 2 {
				want = content[from : to+1]
			} else {
				want = content[from:]
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || sha256.Sum256(got) != sha256.Sum256(want) {
			t.Errorf("range %q: %d bytes, err %v; want %d bytes, the file's", rng, len(got), err, len(want))
		}
	}
	if st := r.ln.Stats(); st.Closed.WriteTimeout != 0 {
		t.Errorf("write timeouts %d for clients that read", st.Closed.WriteTimeout)
	}
}

func TestAClientThatDoesNotReadIsClosedWithinTheWriteTimeout(t *testing.T) {
	path, _ := randomFile(t, 32<<20)
	const timeout = 300 * time.Millisecond
	done := make(chan struct{}, 1)
	r := newRig(t, clientlimit.Config{MaxConns: 10, WriteTimeout: timeout}, fileHandler(path, done), nil)
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4 << 10)
	start := time.Now()
	io.WriteString(c, "GET /blob HTTP/1.1\r\nHost: test\r\n\r\n")
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the answer to a client that does not read is still being sent after 20s")
	}
	t.Logf("a client that reads nothing of a 32 MiB answer was given up on after %v (write timeout %v)", time.Since(start).Round(time.Millisecond), timeout)
	waitFor(t, func() bool { st := r.ln.Stats(); return st.Closed.WriteTimeout == 1 && st.Open == 0 },
		func() string { return fmt.Sprintf("stats %+v, want 1 write timeout and nothing open", r.ln.Stats()) })
}
