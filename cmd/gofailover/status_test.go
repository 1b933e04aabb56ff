package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/statuspage"
)

// statusReport is the report the status command tests' server gives.
func statusReport() statuspage.Report {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	return statuspage.Report{
		GeneratedAt:  now,
		Version:      "v1.4.0",
		StartedAt:    now.Add(-2 * time.Hour),
		Verification: statuspage.Verification{Enabled: true, Database: "sum.example.org"},
		Upstreams: []statuspage.Upstream{
			{Name: "https://mirror-a.example.com", Preferred: true, Health: statuspage.Health{State: "healthy", Since: now.Add(-2 * time.Hour), Samples: 300, P50: 0.06, P95: 0.14, P99: 0.3, ErrorRate: 0.01},
				Score: 0.08, TrafficShare: 0.97},
			{Name: "https://mirror-b.example.com", Health: statuspage.Health{State: "open", Since: now.Add(-5 * time.Minute), Samples: 40, P50: 0.9, P95: 2.8, P99: 4.1, ErrorRate: 0.7, LastError: "503 Service Unavailable", LastErrorAt: now.Add(-30 * time.Second)},
				Score: 2.5, TrafficShare: 0.03},
		},
		Alerts: []statuspage.Alert{
			{Rule: "upstream_error_rate", Upstream: "https://mirror-b.example.com", Severity: "P1", State: "firing",
				FiredAt: now.Add(-4 * time.Minute), Value: 0.7, Threshold: 0.2, Unit: "ratio", Summary: "mirror-b fails"},
			{Rule: "upstream_latency", Upstream: "https://mirror-a.example.com", Severity: "P2", State: "resolved",
				ResolvedAt: now.Add(-time.Hour), Summary: "old news"},
		},
		Cache: statuspage.CacheStats{Entries: 1200, Bytes: 3 << 20, Hits: 900, Misses: 100, HitRatio: 0.9},
	}
}

// statusServer starts the status page on a test server.
func statusServer(t *testing.T) *httptest.Server {
	t.Helper()
	src := statuspage.SourceFunc(func(context.Context) (statuspage.Report, error) { return statusReport(), nil })
	srv := httptest.NewServer(statuspage.Handler(src, statuspage.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	t.Cleanup(srv.Close)
	return srv
}

// runStatus runs `gofailover status args...` and returns its exit status,
// stdout and stderr.
func runStatus(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), append([]string{"status"}, args...), environ, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestStatusCommandPrintsTable(t *testing.T) {
	srv := statusServer(t)
	code, out, errOut := runStatus(t, nil, "--url", srv.URL)
	if code != exitStatusDegraded || errOut != "" {
		t.Fatalf("status = %d, stderr %q; want %d: mirror-b is open", code, errOut, exitStatusDegraded)
	}
	for _, want := range []string{
		"gofailover v1.4.0, up 2h, checksum verification on (sum.example.org)",
		"  UPSTREAM                      STATE    EPISODE                   SCORE   P50     P95     P99     ERRORS  TRAFFIC  LAST ERROR\n",
		"* https://mirror-a.example.com  healthy  up since 10:00:00 (2h)    80 ms   60 ms   140 ms  300 ms  1.0%    97%      -\n",
		"  https://mirror-b.example.com  open     down since 11:55:00 (5m)  2.50 s  900 ms  2.80 s  4.10 s  70%     3.0%     11:59:30 503 Service Unavailable\n",
		"P1        firing  upstream_error_rate  https://mirror-b.example.com  11:56:00 (for 4m)  70%    20%        mirror-b fails\n",
		"Cache: 1,200 entries, 3.0 MiB, hit ratio 90% (900 hits, 100 misses, 0 stale)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "old news") {
		t.Errorf("output shows a resolved alert")
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

func TestStatusCommandListenAddress(t *testing.T) {
	srv := statusServer(t)
	addr := strings.TrimPrefix(srv.URL, "http://")
	for name, tc := range map[string]struct {
		environ []string
		args    []string
	}{
		"environment":           {environ: []string{"GOFAILOVER_LISTEN=" + addr}},
		"flag":                  {args: []string{"--listen", addr}},
		"unspecified host (::)": {args: []string{"--listen", "[::]:" + addr[strings.LastIndex(addr, ":")+1:]}},
	} {
		code, out, errOut := runStatus(t, tc.environ, tc.args...)
		if code != exitStatusDegraded || !strings.Contains(out, "https://mirror-b.example.com") {
			t.Errorf("%s: status = %d, stderr %q", name, code, errOut)
		}
	}
}

func TestStatusCommandJSON(t *testing.T) {
	srv := statusServer(t)
	code, out, errOut := runStatus(t, nil, "--json", "--url", srv.URL+"/")
	if code != exitStatusDegraded || errOut != "" {
		t.Fatalf("status --json = %d, stderr %q", code, errOut)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("status --json printed no JSON: %v\n%s", err, out)
	}
	if raw["version"] != "v1.4.0" || len(raw["upstreams"].([]any)) != 2 {
		t.Errorf("status --json printed %s", out)
	}
}

func TestStatusCommandFailures(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/status.json":
			io.WriteString(w, `{"upstreams": [`)
		case "/html/status.json":
			io.WriteString(w, "<html>not json</html>")
		default:
			http.Error(w, "status unavailable: history store closed\nsecond line", http.StatusServiceUnavailable)
		}
	}))
	defer broken.Close()

	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		want  string
		lines int
	}{
		{"unreachable", []string{"--url", closedURL}, exitFailed, "gofailover: status: cannot reach " + closedURL + "/status.json: ", 1},
		{"non-200", []string{"--url", broken.URL + "/down"}, exitFailed,
			"gofailover: status: " + broken.URL + "/down/status.json answered 503 Service Unavailable: status unavailable: history store closed\n", 1},
		{"truncated JSON", []string{"--url", broken.URL}, exitFailed, "did not answer with a status report", 1},
		{"HTML", []string{"--json", "--url", broken.URL + "/html"}, exitFailed, "did not answer with a status report", 1},
		{"bad --url", []string{"--url", "ftp://example.com"}, exitUsage, `gofailover: --url: "ftp://example.com" is not an http or https URL` + "\n", 1},
		{"bad --listen", []string{"--listen", "nonsense"}, exitUsage, `gofailover: GOFAILOVER_LISTEN: "nonsense" is not a host:port address` + "\n", 1},
		{"stray argument", []string{"--url", broken.URL, "extra"}, exitUsage,
			"gofailover status: unexpected argument \"extra\"\nrun 'gofailover status --help'\n", 2},
		{"unknown flag", []string{"--jsn"}, exitUsage,
			"gofailover status: flag provided but not defined: -jsn\nrun 'gofailover status --help'\n", 2},
	} {
		code, out, errOut := runStatus(t, nil, tc.args...)
		if code != tc.code || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != tc.lines {
			t.Errorf("%s: status = %d, stdout %q, stderr %q; want %d and %d lines with %q", tc.name, code, out, errOut, tc.code, tc.lines, tc.want)
		}
	}
}

func TestStatusServerURL(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:3131": "http://127.0.0.1:3131",
		":3131":          "http://127.0.0.1:3131",
		"0.0.0.0:80":     "http://127.0.0.1:80",
		"[::]:3131":      "http://127.0.0.1:3131",
		"[::1]:3131":     "http://[::1]:3131",
		"proxy.lan:8080": "http://proxy.lan:8080",
	} {
		if got, err := serverURL(listen); err != nil || got != want {
			t.Errorf("serverURL(%q) = %q, %v; want %q", listen, got, err, want)
		}
	}
	if _, err := serverURL("3131"); err == nil {
		t.Errorf("serverURL(3131) succeeded")
	}
	for base, want := range map[string]string{
		"http://proxy.example.com:3131":              "http://proxy.example.com:3131/status.json",
		"https://proxy.example.com/gofailover/":      "https://proxy.example.com/gofailover/status.json",
		"http://proxy.example.com/other/status.json": "http://proxy.example.com/other/status.json",
	} {
		if got, err := statusURL("127.0.0.1:3131", base); err != nil || got != want {
			t.Errorf("statusURL(%q) = %q, %v; want %q", base, got, err, want)
		}
	}
}

func TestStatusInUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"help"}, nil, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "gofailover status [flags]") {
		t.Errorf("help = %d, lacks the status command:\n%s", code, stdout.String())
	}
}
