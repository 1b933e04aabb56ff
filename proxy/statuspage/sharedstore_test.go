package statuspage

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// sampleShared is a shared store that has been down for 13 minutes,
// failing its latest calls.
func sampleShared(now time.Time) *SharedStore {
	return &SharedStore{
		Name: "s3://go-cache/fleet", Health: Health{
			State:               "open",
			Since:               now.Add(-time.Minute),
			EpisodeSince:        now.Add(-13 * time.Minute),
			Until:               now.Add(30 * time.Second),
			Samples:             12,
			P50:                 0.012,
			P95:                 0.04,
			P99:                 0.09,
			ErrorRate:           0.5,
			ConsecutiveFailures: 4,
			LastError:           "dial tcp 127.0.0.1:9000: connection refused\x1b[2J",
			LastErrorAt:         now.Add(-20 * time.Second),
		},
		Hits: 5120, Misses: 830, Errors: 14, Bypassed: 210, BytesRead: 70 << 20, BytesWritten: 1 << 20,
		Uploads:        SharedUploads{Uploaded: 800, Present: 25, Failed: 2, Dropped: 1, Queue: 3},
		CorruptObjects: 7,
	}
}

// TestSharedStoreShown: a shared store that is down shows in the JSON (a
// shared_store object that reads back), on the page (its own section,
// and a warning in the verdict) and in the text; without one, none of
// them mentions it.
func TestSharedStoreShown(t *testing.T) {
	rep := sampleReport()
	now := rep.GeneratedAt
	rep.SharedStore = sampleShared(now)
	rep.SharedStore.P99 = math.NaN() // served as 0: unknown

	data, err := encodeReport(rep)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["shared_store"]; !ok {
		t.Fatalf("status.json has no shared_store:\n%s", data)
	}
	for _, want := range []string{`"name": "s3://go-cache/fleet"`, `"state": "open"`, `"episode_since": "2026-03-10T11:47:00Z"`,
		`"p95_seconds": 0.04`, `"bypassed": 210`, `"queue": 3`, `"corrupt_objects": 7`, `"dropped": 1`, `"p99_seconds": 0`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("status.json lacks %s", want)
		}
	}
	back, err := DecodeReport(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if back.SharedStore == nil || back.SharedStore.Uploads.Uploaded != 800 || back.SharedStore.Hits != 5120 {
		t.Errorf("shared_store read back as %+v", back.SharedStore)
	}

	page, err := renderPage(sanitized(rep))
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ out, want string }{
		{string(page), `<section id="shared-store" data-state="open">`},
		{string(page), `<span class="badge st-open">open</span> <span title="down since 2026-03-10 11:47:00 UTC">down since 11:47:00 (for 13m)`},
		{string(page), "<dt>Latency p50 / p95 / p99</dt><dd>" + dash + " / " + dash + " / " + dash + "</dd>"},
		{string(page), "<dt>Error rate</dt><dd>50%</dd>"},
		{string(page), "<dt>Hits / misses</dt><dd>5,120 / 830</dd>"},
		{string(page), "<dt>Upload queue</dt><dd>3</dd>"},
		{string(page), "<dt>Corrupt objects</dt><dd>7 (deleted, never served)</dd>"},
		{string(page), "connection refused"},
		{string(page), "<li>shared store s3://go-cache/fleet open, down for 13m: this replica goes on alone"},
		{text.String(), "Shared store: s3://go-cache/fleet open, down since 11:47:00 (for 13m); p50 " + dash},
		{text.String(), "5,120 hits, 830 misses, 210 bypassed, 70 MiB read; uploads: 800 uploaded, 25 present, 2 failed, 1 dropped, 3 queued; 7 corrupt objects\n"},
		{text.String(), "Shared store: last error 11:59:40 dial tcp 127.0.0.1:9000: connection refused [2J\n"},
	} {
		if !strings.Contains(c.out, c.want) {
			t.Errorf("output lacks %q", c.want)
		}
	}
	if strings.Contains(text.String(), "\x1b") {
		t.Error("the text report holds an escape")
	}

	rep.SharedStore = &SharedStore{Name: "s3://go-cache/fleet", Health: Health{State: "healthy", Since: now.Add(-time.Hour), Samples: 3, P50: 0.01, P95: 0.02, P99: 0.03}}
	page, _ = renderPage(sanitized(rep))
	text.Reset()
	WriteText(&text, rep)
	if !strings.Contains(string(page), "<dt>Latency p50 / p95 / p99</dt><dd>10 ms / 20 ms / 30 ms</dd>") {
		t.Error("a healthy store's latency is not shown")
	}
	if strings.Contains(string(page), "<li>shared store") {
		t.Error("a healthy store is in the verdict")
	}
	if !strings.Contains(text.String(), "Shared store: s3://go-cache/fleet healthy, up since 11:00:00 (for 1h); p50 10 ms, p95 20 ms, errors 0%") {
		t.Errorf("text of a healthy store:\n%s", text.String())
	}

	rep.SharedStore = nil
	data, _ = encodeReport(rep)
	page, _ = renderPage(sanitized(rep))
	text.Reset()
	WriteText(&text, rep)
	for name, out := range map[string]string{"JSON": string(data), "page": string(page), "text": text.String()} {
		if strings.Contains(strings.ToLower(out), "shared") {
			t.Errorf("the %s mentions a shared store without one", name)
		}
	}
}
