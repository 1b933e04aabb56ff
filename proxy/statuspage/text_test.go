package statuspage

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"gofailover v1.4.0, up 1d 3h, checksum verification on (sum.example.org); generated 2026-03-10 12:00:00 UTC",
		"  UPSTREAM                           STATE     EPISODE                    SCORE   P50     P95     P99     ERRORS  TRAFFIC  LAST ERROR\n",
		"* https://mirror-a.example.com       healthy   up since 09:00:00 (3h)     81 ms   62 ms   141 ms  298 ms  0.4%    86%      11:40:00 GET /golang.org/x/text/@v/list: timeout awaiting response h…\n",
		"  https://mirror-b.example.com       open      down since 11:47:00 (13m)  2.40 s  900 ms  2.80 s  4.10 s  62%     2.0%     11:59:20 GET /github.com/example/lib/@v/v1.2.3.zip: 503 Service Unav…\n",
		"  https://proxy.corp.example.net/go  degraded  up since 11:13:00 (47m)    310 ms  180 ms  520 ms  950 ms  5.0%    12%      11:55:00 dial tcp 10.0.0.7:443: connection refused\n",
		"  https://proxy.corp.example.net/go: stale: answered 404 for /golang.org/x/text/@v/v0.20.0.info, which https://mirror-a.example.com serves\n",
		"* the preferred upstream: first in the configured order\n",
		"SEVERITY  STATE    RULE                 UPSTREAM                           SINCE               VALUE  THRESHOLD  SUMMARY",
		"P1        firing   upstream_error_rate  https://mirror-b.example.com       11:46:00 (for 14m)  62%    20%        mirror-b fails most requests; traffic moved to the other mirrors",
		"P2        pending  upstream_error_rate  https://proxy.corp.example.net/go  11:57:00 (for 3m)   5.0%   5.0%       mirror C errors rising",
		"Cache: 18,234 entries, 1.2 GiB, hit ratio 92% (90,210 hits, 7,711 misses, 12 stale)",
		"Cache: corrupt blobs found: 2 (removed, never served)",
		"Clients: 0 of 97,933 requests failed since start",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	if strings.Contains(out, "resolved") || strings.Contains(out, "retry later") {
		t.Errorf("text shows a resolved alert or a second line of an error:\n%s", out)
	}
	if t.Failed() {
		t.Logf("text:\n%s", out)
	}
}

func TestWriteTextEmptyAndHostile(t *testing.T) {
	var b bytes.Buffer
	rep := Report{
		GeneratedAt: sampleNow(),
		Version:     "v1\x1b[2J",
		Upstreams:   []Upstream{{Name: "https://a.example.com/\x1b]0;pwned\x07", Health: Health{State: "open\tx", LastError: "boom\r\x1b[1A"}}},
	}
	if err := WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07\r\t") {
		t.Errorf("control characters reach the terminal: %q", out)
	}
	if !strings.Contains(out, "No firing or pending alerts.") || !strings.Contains(out, "checksum verification off") {
		t.Errorf("empty report text:\n%s", out)
	}

	b.Reset()
	if err := WriteText(&b, Report{GeneratedAt: sampleNow()}); err != nil || !strings.Contains(b.String(), "(no upstreams configured)") {
		t.Errorf("no upstreams: %v\n%s", err, b.String())
	}
}

// TestUnknownLatencyShownAsUnknown: an upstream whose window holds only
// failures without a response has a score and an error rate, but its
// latency percentiles are unknown, not 0 ms.
func TestUnknownLatencyShownAsUnknown(t *testing.T) {
	var b bytes.Buffer
	rep := Report{
		GeneratedAt: sampleNow(),
		Upstreams:   []Upstream{{Name: "https://dead.example.com", Health: Health{State: "open", Samples: 7, ErrorRate: 1}, Score: 1}},
	}
	if err := WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.Contains(out, "0 ms") || !strings.Contains(out, "1.00 s") || !strings.Contains(out, "100%") {
		t.Errorf("row of an upstream with no latency:\n%s", out)
	}
}
