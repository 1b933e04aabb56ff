package statuspage

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// serve starts the handler on a test server that reports rep.
func serve(t *testing.T, rep Report, opts ...Option) *httptest.Server {
	t.Helper()
	opts = append([]Option{WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)
	srv := httptest.NewServer(Handler(SourceFunc(func(context.Context) (Report, error) { return rep, nil }), opts...))
	t.Cleanup(srv.Close)
	return srv
}

// fetch sends one request and returns the response and its body.
func fetch(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestStatusPageHTML(t *testing.T) {
	srv := serve(t, sampleReport())
	resp, body := fetch(t, http.MethodGet, srv.URL+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %s: %s", resp.Status, body)
	}
	for h, want := range map[string]string{
		"Content-Type":  "text/html; charset=utf-8",
		"Cache-Control": "no-store",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	for _, want := range []string{
		// The verdict.
		"2 of 3 upstreams in trouble",
		"https://mirror-b.example.com open, down for 13m, 62% errors",
		"no client request has failed",
		// The rows: state as text and as a class, since when, numbers.
		`data-state="healthy"`, `data-state="open"`, `data-state="degraded"`,
		`<span class="badge st-open">open</span>`,
		`<span class="pref" title="the preferred upstream: first in the configured order">preferred</span>`,
		"11:48:00", "for 13m", "open since 11:48:00", "next try 12:03:00",
		"stale: answered 404 for /golang.org/x/text/@v/v0.20.0.info, which https://mirror-a.example.com serves",
		"81 ms", "2.40 s", "900 ms", "4.10 s", "62%", "402 of 3,310 failed", "86%",
		"GET /github.com/example/lib/@v/v1.2.3.zip: 503 Service Unavailable",
		"11:59:20 (40s ago)",
		// Alerts.
		`<span class="sev sev-p1">P1</span>`, "upstream_error_rate", "mirror-b fails most requests",
		"11:46:00 (for 14m)", "resolved 11:10:00 (50m ago)",
		// Plots, with a legend.
		"Time to first byte, p95, last hour", "Error rate, last day", "Traffic share, last hour",
		"last hour · 11:00 – 12:00", "last day · Mar 9 12:00 – 12:00",
		// Cache and server facts.
		"18,234", "1.2 GiB", "92%", "90,210 / 7,711 / 12",
		"<dt>Last scrub</dt><dd>09:00:00 (3h ago)</dd>", "<dt>Corrupt blobs found</dt><dd>2 (removed, never served)</dd>",
		"v1.4.0", "2026-03-09 08:48:00 UTC", "1d 3h", "on (sum.example.org)",
		`href="status.json"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(body, `<svg class="plot"`); n != 10 {
		t.Errorf("page has %d plots, want 10 (5 measures × 2 ranges)", n)
	}
	// The last error's second line stays in the tooltip, not the cell.
	if strings.Contains(body, "503 Service Unavailable\nretry later</span>") {
		t.Errorf("last error shown with its line break")
	}
	// Self-contained: nothing to fetch, nothing to run.
	for _, bad := range []string{"<script", "<link", " src=", "@import", "url(", "NaN", "Inf"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	// Alerts: firing, then pending, then resolved, whatever the source's order.
	f, p, r := strings.Index(body, `<tr class="alert" data-state="firing"`), strings.Index(body, `<tr class="alert" data-state="pending"`), strings.Index(body, `<tr class="alert" data-state="resolved"`)
	if !(f >= 0 && f < p && p < r) {
		t.Errorf("alerts out of order: firing at %d, pending at %d, resolved at %d", f, p, r)
	}
}

func TestStatusPageAllStates(t *testing.T) {
	rep := Report{GeneratedAt: sampleNow()}
	for _, s := range []string{"healthy", "degraded", "open", "half-open", "quarantined", "strange"} {
		rep.Upstreams = append(rep.Upstreams, Upstream{Name: "https://" + s + ".example.com", Health: Health{State: s}})
	}
	_, body := fetch(t, http.MethodGet, serve(t, rep).URL+"/")
	for _, want := range []string{
		`class="badge st-healthy">healthy<`, `class="badge st-degraded">degraded<`, `class="badge st-open">open<`,
		`class="badge st-half-open">half-open<`, `class="badge st-quarantined">quarantined<`, `class="badge st-unknown">strange<`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if !strings.Contains(body, "5 of 6 upstreams in trouble") {
		t.Errorf("verdict wrong: want 5 of 6 in trouble")
	}
}

func TestStatusPageEmpty(t *testing.T) {
	_, body := fetch(t, http.MethodGet, serve(t, Report{GeneratedAt: sampleNow()}).URL+"/")
	for _, want := range []string{"No upstreams configured", "No alerts.", "No history yet.", "Checksum verification</dt><dd>off", `checksum verification <strong class="unverified">off</strong>`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestStatusPageHealthy(t *testing.T) {
	rep := sampleReport()
	rep.Alerts = nil
	for i := range rep.Upstreams {
		rep.Upstreams[i].State = "healthy"
	}
	_, body := fetch(t, http.MethodGet, serve(t, rep).URL+"/")
	if !strings.Contains(body, `class="verdict ok"`) || !strings.Contains(body, "All 3 upstreams healthy") {
		t.Errorf("all-healthy verdict missing")
	}
}

func TestStatusJSON(t *testing.T) {
	want := sampleReport()
	resp, body := fetch(t, http.MethodGet, serve(t, want).URL+"/status.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /status.json = %s: %s", resp.Status, body)
	}
	if ct, cc := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"); ct != "application/json" || cc != "no-store" {
		t.Errorf("Content-Type %q, Cache-Control %q", ct, cc)
	}
	got, err := DecodeReport(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if !got.GeneratedAt.Equal(want.GeneratedAt) || got.Version != want.Version || got.Verification != want.Verification {
		t.Errorf("server facts = %v %q %+v", got.GeneratedAt, got.Version, got.Verification)
	}
	if len(got.Upstreams) != 3 || got.Upstreams[1].Name != mirrorB || got.Upstreams[1].State != "open" ||
		got.Upstreams[1].P99 != 4.1 || !got.Upstreams[1].Until.Equal(want.Upstreams[1].Until) {
		t.Errorf("upstreams = %+v", got.Upstreams)
	}
	if len(got.Ranges) != 2 || len(got.Ranges[0].Series) != 3 || len(got.Ranges[0].Series[1].Points) != 60 || got.Ranges[0].Step != 60 {
		t.Errorf("ranges decoded wrong")
	}
	if len(got.Alerts) != 3 || got.Cache != want.Cache || got.Clients == nil || *got.Clients != *want.Clients {
		t.Errorf("alerts, cache or clients decoded wrong")
	}

	// The field names, units and omissions the package documents.
	var raw map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	up0 := raw["upstreams"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "preferred", "state", "since", "score_seconds", "p50_seconds", "p95_seconds", "p99_seconds", "error_rate", "last_error_at", "traffic_share", "requests", "failures"} {
		if _, ok := up0[k]; !ok {
			t.Errorf("upstream JSON lacks %q", k)
		}
	}
	if _, ok := up0["until"]; ok {
		t.Errorf("zero until not left out: %v", up0["until"])
	}
	if up0["since"] != "2026-03-10T09:00:00Z" {
		t.Errorf("since = %v, want RFC 3339", up0["since"])
	}
	for _, k := range []string{"generated_at", "started_at", "verification", "ranges", "alerts", "cache", "clients"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("report JSON lacks %q", k)
		}
	}
}

func TestStatusHead(t *testing.T) {
	srv := serve(t, sampleReport())
	for _, path := range []string{"/", "/status.json"} {
		get, getBody := fetch(t, http.MethodGet, srv.URL+path)
		resp, body := fetch(t, http.MethodHead, srv.URL+path)
		if resp.StatusCode != http.StatusOK || body != "" {
			t.Errorf("HEAD %s = %s with %d bytes", path, resp.Status, len(body))
		}
		if resp.ContentLength != int64(len(getBody)) || resp.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			t.Errorf("HEAD %s: length %d type %q; GET: %d %q", path, resp.ContentLength, resp.Header.Get("Content-Type"), len(getBody), get.Header.Get("Content-Type"))
		}
	}
}

func TestStatusBadRequests(t *testing.T) {
	srv := serve(t, sampleReport())
	for _, tc := range []struct {
		method, path string
		status       int
		reason       string
	}{
		{http.MethodPost, "/", http.StatusMethodNotAllowed, "method POST not allowed"},
		{http.MethodDelete, "/status.json", http.StatusMethodNotAllowed, "method DELETE not allowed"},
		{http.MethodGet, "/status.xml", http.StatusNotFound, "no such page"},
		{http.MethodGet, "/golang.org/x/mod/@v/list", http.StatusNotFound, "no such page"},
	} {
		resp, body := fetch(t, tc.method, srv.URL+tc.path)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.reason) || strings.Count(body, "\n") != 1 {
			t.Errorf("%s %s = %s %q, want %d and one line with %q", tc.method, tc.path, resp.Status, body, tc.status, tc.reason)
		}
		if tc.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow = %q", tc.method, tc.path, resp.Header.Get("Allow"))
		}
	}
}

func TestStatusSourceError(t *testing.T) {
	src := SourceFunc(func(context.Context) (Report, error) {
		return Report{}, errors.New("history store closed\nsecond line")
	})
	srv := httptest.NewServer(Handler(src, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	defer srv.Close()
	for _, path := range []string{"/", "/status.json"} {
		resp, body := fetch(t, http.MethodGet, srv.URL+path)
		if resp.StatusCode != http.StatusServiceUnavailable || body != "status unavailable: history store closed\n" {
			t.Errorf("GET %s = %s %q, want 503 with one line", path, resp.Status, body)
		}
	}
}

func TestStatusNonFiniteNumbers(t *testing.T) {
	rep := sampleReport()
	rep.Upstreams[0].P99 = math.NaN()
	rep.Upstreams[1].ErrorRate = math.Inf(1)
	rep.Ranges[0].Series[0].Points[5].P95 = math.Inf(-1)
	rep.Ranges[0].Step = math.NaN()
	rep.Alerts[0].Value = math.NaN()
	rep.Cache.HitRatio = math.NaN()
	srv := serve(t, rep)

	resp, body := fetch(t, http.MethodGet, srv.URL+"/status.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /status.json = %s: %s", resp.Status, body)
	}
	got, err := DecodeReport(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if got.Upstreams[0].P99 != 0 || got.Upstreams[1].ErrorRate != 0 || !got.Ranges[0].Series[0].Points[5].Missing {
		t.Errorf("non-finite numbers not served as 0 and missing")
	}
	resp, body = fetch(t, http.MethodGet, srv.URL+"/")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "NaN") || strings.Contains(body, "Inf") {
		t.Errorf("GET / = %s, NaN or Inf in the page", resp.Status)
	}
	// The source's report is not changed.
	if !math.IsNaN(rep.Upstreams[0].P99) || rep.Ranges[0].Series[0].Points[5].Missing {
		t.Errorf("the handler changed the source's report")
	}
}

func TestStatusGeneratedAtDefaultsToClock(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := serve(t, Report{}, WithClock(func() time.Time { return at }))
	_, body := fetch(t, http.MethodGet, srv.URL+"/status.json")
	got, err := DecodeReport(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if !got.GeneratedAt.Equal(at) {
		t.Errorf("generated_at = %v, want %v", got.GeneratedAt, at)
	}
}

func TestStatusUnderPrefix(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/status/", http.StripPrefix("/status", Handler(SourceFunc(func(context.Context) (Report, error) { return sampleReport(), nil }))))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, path := range []string{"/status/", "/status/status.json"} {
		if resp, _ := fetch(t, http.MethodGet, srv.URL+path); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %s", path, resp.Status)
		}
	}
}

func TestStatusPageEscapesReportText(t *testing.T) {
	evil := `https://x.example.com/"><script>alert(1)</script>`
	rep := Report{
		GeneratedAt: sampleNow(),
		Version:     "<b>v1</b>",
		Upstreams:   []Upstream{{Name: evil, Health: Health{State: `open"><script>`, LastError: "<img src=x onerror=alert(1)>"}}},
		Ranges: []Range{{Name: "<i>hour</i>", From: sampleNow().Add(-time.Hour), To: sampleNow(),
			Series: []Series{{Upstream: evil, Points: []Point{{T: sampleNow(), P50: 0.1}, {T: sampleNow().Add(-time.Minute), P50: 0.1}}}}}},
		Alerts: []Alert{{Rule: "<script>", Summary: "<script>", Severity: `"><script>`, State: "<script>"}},
	}
	_, body := fetch(t, http.MethodGet, serve(t, rep).URL+"/")
	for _, bad := range []string{"<script", "<img", "<b>v1", "<i>hour"} {
		if strings.Contains(body, bad) {
			t.Errorf("report text reached the page unescaped: %q", bad)
		}
	}
	if !strings.Contains(body, "No upstream is usable") {
		t.Errorf("verdict lacks that no upstream is usable")
	}
}
