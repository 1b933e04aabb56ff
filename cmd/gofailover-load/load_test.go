package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
	}{
		{"1MiB", 1 << 20}, {"40MiB", 40 << 20}, {"1.5KiB", 1536}, {"1MB", 1e6}, {"512", 512}, {" 2 GiB ", 2 << 30}, {"32KiB", 32 << 10},
	} {
		if got, err := parseSize(tt.in); err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1MiB", "0", "ten", "1TiB0"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) succeeded", bad)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for _, tt := range []struct {
		in   int64
		want string
	}{
		{1 << 20, "1MiB"}, {40 << 20, "40MiB"}, {1048455, "1023.9KiB"}, {1536 << 10, "1.5MiB"}, {512 << 10, "512KiB"}, {300, "300B"},
	} {
		if got := formatSize(tt.in); got != tt.want {
			t.Errorf("formatSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSeries(t *testing.T) {
	s := series([]float64{5, 1, 3})
	if s.Median != 3 || s.Min != 1 || s.Max != 5 || s.Values[0] != 5 {
		t.Errorf("odd: %+v", s)
	}
	if s := series([]float64{4, 1, 3, 2}); s.Median != 2.5 {
		t.Errorf("even: median %v, want 2.5", s.Median)
	}
	if s := series(nil); s.Median != 0 {
		t.Errorf("empty: %+v", s)
	}
}

func TestParseStatus(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	status := "Name:\tgofailover\nVmPeak:\t 2330392 kB\nVmHWM:\t   30000 kB\nVmRSS:\t   17148 kB\n" +
		"RssAnon:\t    6000 kB\nRssFile:\t   11000 kB\nRssShmem:\t     148 kB\nThreads:\t13\n"
	m, err := parseStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if m.rss != 17148<<10 || m.hwm != 30000<<10 || m.anon != 6000<<10 || m.file != 11000<<10 || m.shmem != 148<<10 {
		t.Errorf("parseStatus = %+v", m)
	}
	if _, err := parseStatus([]byte("Name:\tx\n")); err == nil {
		t.Error("parseStatus of a status without memory lines succeeded")
	}
	// This process's own status parses too, by both readers.
	own, err := readMemory(os.Getpid())
	if err != nil || own.rss <= 0 {
		t.Fatalf("readMemory(self) = %+v, %v", own, err)
	}
	rss, err := readRSS(os.Getpid(), make([]byte, 16<<10))
	if err != nil || rss <= 0 {
		t.Fatalf("readRSS(self) = %d, %v", rss, err)
	}
}

func TestDrain(t *testing.T) {
	buf := make([]byte, 8)
	n, err := drain(strings.NewReader("hello"), buf, true)
	if err != nil || n != 5 || string(buf[:n]) != "hello" {
		t.Errorf("drain kept %q (%d, %v)", buf[:n], n, err)
	}
	n, err = drain(strings.NewReader(strings.Repeat("x", 100)), buf, true)
	if err != nil || n != 100 {
		t.Errorf("drain of a body longer than the buffer = %d, %v", n, err)
	}
}

// TestRunLoad runs the load generator against an in-process server: good
// answers count, and a wrong body, a bad status and a missing hit header
// are each reported.
func TestRunLoad(t *testing.T) {
	body := []byte(`{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}`)
	mux := http.NewServeMux()
	mux.HandleFunc("/good", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(cacheHeader, "hit")
		w.Write(body)
	})
	mux.HandleFunc("/miss", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(cacheHeader, "miss")
		w.Write(body)
	})
	mux.HandleFunc("/wrong", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(cacheHeader, "hit")
		w.Write([]byte(strings.ToUpper(string(body))))
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not here", http.StatusNotFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	fx := &fixture{name: ".info", path: "/good", size: int64(len(body)), body: body}

	run := func(path string) runResult {
		return runLoad(context.Background(), loadSpec{
			url: srv.URL + path, fx: fx, clients: 3, duration: 50 * time.Millisecond, prime: true, wantHit: true,
		})
	}
	if r := run("/good"); r.requests == 0 || r.errors != 0 || r.misses != 0 || r.bytes != r.requests*fx.size {
		t.Errorf("/good: %+v", r)
	}
	if r := run("/miss"); r.misses == 0 || r.errors != 0 {
		t.Errorf("/miss: %+v", r)
	}
	if r := run("/wrong"); r.errors == 0 || r.requests != 0 || !strings.Contains(r.firstErr, "differs") {
		t.Errorf("/wrong: %+v", r)
	}
	if r := run("/gone"); r.errors == 0 || r.requests != 0 || !strings.Contains(r.firstErr, "404") {
		t.Errorf("/gone: %+v", r)
	}
	once := runLoad(context.Background(), loadSpec{url: srv.URL + "/good", fx: fx, clients: 4})
	if once.requests != 4 || once.errors != 0 {
		t.Errorf("one request per client: %+v", once)
	}
}

func TestWriteFileChunked(t *testing.T) {
	dir := t.TempDir()
	data := []byte(strings.Repeat("0123456789", 1000))
	for _, chunk := range []int64{0, 7, 4096, 1 << 20} {
		p := filepath.Join(dir, "f")
		if err := writeFile(p, data, chunk); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != string(data) {
			t.Errorf("chunk %d: wrote %d bytes, %v", chunk, len(got), err)
		}
	}
}

// TestMemoryHandler serves a tree from memory: the bytes at their URL
// paths, HEAD and ranges as http.ServeContent does, 404 for the rest.
func TestMemoryHandler(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "example.com", "m", "@v", "v1.0.0.info")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	body := `{"Version":"v1.0.0"}`
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := newMemoryHandler(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/example.com/m/@v/v1.0.0.info")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 64)
	n, _ := drain(resp.Body, got, true)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(got[:n]) != body {
		t.Errorf("GET: %d %q", resp.StatusCode, got[:n])
	}
	resp, err = http.Get(srv.URL + "/example.com/m/@v/v9.info")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET of a missing file: %d", resp.StatusCode)
	}
}
