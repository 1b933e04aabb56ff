package statuspage

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

func TestDecodeReportRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"null":           "null",
		"array":          "[]",
		"string":         `"report"`,
		"truncated":      `{"upstreams": [`,
		"trailing data":  `{} {}`,
		"wrong type":     `{"upstreams": {"name": "a"}}`,
		"bad time":       `{"generated_at": "yesterday"}`,
		"negative count": `{"cache": {"hits": -1}}`,
	} {
		if _, err := DecodeReport(strings.NewReader(in)); err == nil {
			t.Errorf("%s: DecodeReport(%q) succeeded", name, in)
		} else if !strings.HasPrefix(err.Error(), "statuspage: ") {
			t.Errorf("%s: error %q does not say where it failed", name, err)
		}
	}
}

func TestDecodeReportTooLarge(t *testing.T) {
	big := io.MultiReader(strings.NewReader(`{"version": "`), &repeatReader{b: 'x', n: MaxReportBytes}, strings.NewReader(`"}`))
	if _, err := DecodeReport(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("DecodeReport of an oversized body: %v, want too large", err)
	}
}

// repeatReader yields n copies of b.
type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range n {
		p[i] = r.b
	}
	r.n -= n
	return n, nil
}

func TestDecodeReportIgnoresUnknownFields(t *testing.T) {
	rep, err := DecodeReport(strings.NewReader(`{"version": "v2", "future": {"x": 1}, "upstreams": [{"name": "a", "new_field": true}]}`))
	if err != nil || rep.Version != "v2" || len(rep.Upstreams) != 1 || rep.Upstreams[0].Name != "a" {
		t.Errorf("DecodeReport = %+v, %v", rep, err)
	}
}

// FuzzDecodeReport feeds DecodeReport arbitrary bytes. What it accepts must
// encode to JSON that decodes and encodes to the same bytes, and must render
// as a page and as text without NaN or infinity.
func FuzzDecodeReport(f *testing.F) {
	// A small report: large seeds slow the fuzzer to a crawl.
	small := sampleReport()
	for i := range small.Ranges {
		for j := range small.Ranges[i].Series {
			small.Ranges[i].Series[j].Points = small.Ranges[i].Series[j].Points[:4]
		}
	}
	sample, err := encodeReport(small)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	for _, seed := range []string{
		`{}`, `null`, `[]`, `{"upstreams": [{"name": "a", "state": "open"}]}`,
		`{"upstreams": [{"name": "a", "p99_seconds": 1e308, "error_rate": -1, "since": "0001-01-01T00:00:00Z"}]}`,
		`{"ranges": [{"name": "r", "from": "9999-12-31T23:59:59Z", "to": "0001-01-01T00:00:00Z", "step_seconds": -1,
		  "series": [{"upstream": "a", "points": [{"t": "2026-01-01T00:00:00+14:00", "p50_seconds": 1e-320}]}]}]}`,
		`{"alerts": [{"severity": "P0", "state": "firing", "value": 1e300, "unit": "seconds"}], "clients": {"failed": 18446744073709551615}}`,
		`{"cache": {"bytes": 9223372036854775807, "entries": -5}}`,
		"{\"version\": \"\\u001b[31mred\", \"upstreams\": [{\"name\": \"a\\tb\", \"last_error\": \"x\\ny\"}]}",
		string(sample[:len(sample)/2]),
		`{"ranges":[{"series":[{"points":[{"t":"0000-01-01T0:00:00+24:00"}]}]}]}`,
		`{"generated_at":"9999-12-31T23:00:00-23:59","started_at":"0000-01-01T00:00:00+23:00"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := DecodeReport(bytes.NewReader(data))
		if err != nil {
			return
		}
		first, err := encodeReport(rep)
		if err != nil {
			t.Fatalf("encoding a decoded report: %v", err)
		}
		again, err := DecodeReport(bytes.NewReader(first))
		if err != nil {
			t.Fatalf("decoding an encoded report: %v\n%s", err, first)
		}
		second, err := encodeReport(again)
		if err != nil {
			t.Fatalf("encoding again: %v", err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("encoding is not stable:\n%s\n%s", first, second)
		}

		if rep.GeneratedAt.IsZero() {
			rep.GeneratedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		page, err := renderPage(sanitized(rep))
		if err != nil {
			t.Fatalf("rendering: %v", err)
		}
		if bytes.Contains(page, []byte("NaN")) || bytes.Contains(page, []byte("Inf")) {
			t.Fatalf("page holds NaN or Inf")
		}
		var text bytes.Buffer
		if err := WriteText(&text, rep); err != nil {
			t.Fatalf("writing text: %v", err)
		}
		if bytes.ContainsRune(text.Bytes(), 0x1b) || bytes.Contains(text.Bytes(), []byte("NaN")) {
			t.Fatalf("text holds an escape or NaN:\n%s", text.Bytes())
		}
	})
}
