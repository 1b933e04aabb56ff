package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// probeEnv is the environment of a probe test: the fixture module
// example.com/lib (v1.0.0 and v1.1.0) as the probe module, and the test
// checksum database, so that nothing is read from the go command.
func probeEnv(db *mirrortest.SumDB, more ...string) []string {
	return append([]string{
		"GOFAILOVER_PROBE_MODULE=example.com/lib@v1.0.0",
		"GOFAILOVER_SUMDB=" + db.VerifierKey,
		"GOFAILOVER_PROBE_TIMEOUT=5s",
	}, more...)
}

// startMirror starts a fixture mirror serving mods and db, stopped when the
// test ends.
func startMirror(t *testing.T, db *mirrortest.SumDB, mods []*mirrortest.Module, fault mirrortest.Fault) *mirrortest.Mirror {
	t.Helper()
	m := mirrortest.NewMirror(db, mods...)
	m.SetFault(fault)
	t.Cleanup(m.Close)
	return m
}

// runProbe runs `gofailover probe args...` with environ and returns its
// output and exit status.
func runProbe(t *testing.T, environ []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"probe"}, args...), environ, &out, &errOut)
	return out.String(), errOut.String(), code
}

// tableRow returns the fields of the table row of mirror url.
func tableRow(t *testing.T, out, url string) []string {
	t.Helper()
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == url {
			return f
		}
	}
	t.Fatalf("no table row for %s in:\n%s", url, out)
	return nil
}

// probeColumns returns the table's columns with the fixture settings.
func probeColumns() []string {
	return []string{"MIRROR", "VERDICT", "REACHABLE", "SUPPORTED", "LIST", "INFO", "MOD", "ZIP", "LATEST", "FAILED", "P50", "P95", "P99", "STALE"}
}

// column returns the value in row of the named column.
func column(t *testing.T, row []string, name string) string {
	t.Helper()
	for i, c := range probeColumns() {
		if c == name && i < len(row) {
			return row[i]
		}
	}
	t.Fatalf("row %q has no column %s", row, name)
	return ""
}

func TestProbeMixedMirrors(t *testing.T) {
	mods, db := fixtures(t)
	good := startMirror(t, db, mods, mirrortest.Healthy())
	stale := startMirror(t, db, mods, mirrortest.StaleList())
	down := startMirror(t, db, mods, mirrortest.Status(503))
	noZip := startMirror(t, db, mods, mirrortest.Status(404).OnSuffix(".zip"))

	out, errOut, code := runProbe(t, probeEnv(db), "--interval=10ms", good.URL(), stale.URL(), down.URL(), noZip.URL())
	if code != exitProbeDegraded {
		t.Errorf("exit status %d, want %d; stderr: %s", code, exitProbeDegraded, errOut)
	}
	if header := strings.Fields(strings.SplitN(out, "\n", 2)[0]); strings.Join(header, " ") != strings.Join(probeColumns(), " ") {
		t.Errorf("header %q, want %q", header, probeColumns())
	}
	for _, tc := range []struct {
		m       *mirrortest.Mirror
		verdict string
		stale   string
		zip     string
		failed  string
	}{
		{good, "healthy", "-", "200", "0/18"},
		{stale, "degraded", "v1.1.0", "200", "0/18"},
		{down, "unusable", "-", "503", "18/18"},
		{noZip, "degraded", "-", "404", "0/18"},
	} {
		row := tableRow(t, out, tc.m.URL())
		if got := column(t, row, "VERDICT"); got != tc.verdict {
			t.Errorf("%s: verdict %s, want %s", tc.m.URL(), got, tc.verdict)
		}
		if got := column(t, row, "REACHABLE"); got != "yes" {
			t.Errorf("%s: reachable %s, want yes", tc.m.URL(), got)
		}
		if got := column(t, row, "STALE"); got != tc.stale {
			t.Errorf("%s: stale %s, want %s", tc.m.URL(), got, tc.stale)
		}
		if got := column(t, row, "ZIP"); got != tc.zip {
			t.Errorf("%s: zip %s, want %s", tc.m.URL(), got, tc.zip)
		}
		if got := column(t, row, "FAILED"); got != tc.failed {
			t.Errorf("%s: failed %s, want %s", tc.m.URL(), got, tc.failed)
		}
	}
	for _, want := range []string{
		stale.URL() + ": stale: its @v/list of example.com/lib lacks v1.1.0, which another mirror lists",
		down.URL() + ": 18 of 18 requests failed (5xx: 18); last error: ",
		noZip.URL() + ": answers 404 to " + noZip.URL() + "/example.com/lib/@v/v1.0.0.zip, which another mirror serves",
		"4 mirrors: 1 healthy, 2 degraded, 1 unusable",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, good.URL()+":"); n != 0 {
		t.Errorf("the healthy mirror has %d problem lines:\n%s", n, out)
	}
	if got := len(good.Requests()); got != 18 {
		t.Errorf("the healthy mirror got %d requests, want 3 rounds of 6: %q", got, good.Requests())
	}
}

// probeJSON is the documented JSON report.
type probeJSON struct {
	Module          string  `json:"module"`
	Version         string  `json:"version"`
	SumDB           string  `json:"sumdb"`
	Rounds          int     `json:"rounds"`
	IntervalSeconds float64 `json:"interval_seconds"`
	TimeoutSeconds  float64 `json:"timeout_seconds"`
	Verdict         string  `json:"verdict"`
	Mirrors         []struct {
		URL               string         `json:"url"`
		Verdict           string         `json:"verdict"`
		Reachable         bool           `json:"reachable"`
		Requests          int            `json:"requests"`
		Failures          int            `json:"failures"`
		FailuresByKind    map[string]int `json:"failures_by_kind"`
		Skipped           int            `json:"skipped"`
		LatencyP50Seconds *float64       `json:"latency_p50_seconds"`
		LatencyP95Seconds *float64       `json:"latency_p95_seconds"`
		LatencyP99Seconds *float64       `json:"latency_p99_seconds"`
		Versions          []string       `json:"versions"`
		Stale             []string       `json:"stale"`
		LastError         string         `json:"last_error"`
		Endpoints         []struct {
			Kind           string         `json:"kind"`
			URL            string         `json:"url"`
			Requests       int            `json:"requests"`
			Failures       int            `json:"failures"`
			FailuresByKind map[string]int `json:"failures_by_kind"`
			Skipped        int            `json:"skipped"`
			Statuses       []int          `json:"statuses"`
			Outcomes       []string       `json:"outcomes"`
			Missing        bool           `json:"missing"`
		} `json:"endpoints"`
		Problems []string `json:"problems"`
	} `json:"mirrors"`
}

func decodeProbeJSON(t *testing.T, out string) probeJSON {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var r probeJSON
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decoding the report: %v\n%s", err, out)
	}
	return r
}

func TestProbeJSON(t *testing.T) {
	mods, db := fixtures(t)
	good := startMirror(t, db, mods, mirrortest.Healthy())
	stale := startMirror(t, db, mods, mirrortest.StaleList())
	dead := mirrortest.ClosedURL(t)

	out, errOut, code := runProbe(t, probeEnv(db), "--json", "--interval", "0s", good.URL(), stale.URL(), dead)
	if code != exitProbeDegraded {
		t.Errorf("exit status %d, want %d; stderr: %s", code, exitProbeDegraded, errOut)
	}
	r := decodeProbeJSON(t, out)
	if r.Module != "example.com/lib" || r.Version != "v1.0.0" || r.SumDB != db.Name || r.Rounds != 3 ||
		r.IntervalSeconds != 0 || r.TimeoutSeconds != 5 || r.Verdict != "degraded" || len(r.Mirrors) != 3 {
		t.Fatalf("report %+v", r)
	}
	g, s, d := r.Mirrors[0], r.Mirrors[1], r.Mirrors[2]
	if g.URL != good.URL() || g.Verdict != "healthy" || !g.Reachable || g.Requests != 18 || g.Failures != 0 ||
		len(g.FailuresByKind) != 0 || g.LastError != "" || len(g.Problems) != 0 || len(g.Stale) != 0 {
		t.Errorf("healthy mirror: %+v", g)
	}
	if g.LatencyP50Seconds == nil || g.LatencyP95Seconds == nil || g.LatencyP99Seconds == nil ||
		*g.LatencyP50Seconds <= 0 || *g.LatencyP50Seconds > *g.LatencyP95Seconds || *g.LatencyP95Seconds > *g.LatencyP99Seconds {
		t.Errorf("healthy mirror latency p50 %v p95 %v p99 %v", g.LatencyP50Seconds, g.LatencyP95Seconds, g.LatencyP99Seconds)
	}
	if strings.Join(g.Versions, " ") != "v1.0.0 v1.1.0" {
		t.Errorf("healthy mirror versions %q", g.Versions)
	}
	var kinds []string
	for _, e := range g.Endpoints {
		kinds = append(kinds, e.Kind)
		if e.Requests != 3 || e.Failures != 0 || len(e.Statuses) != 1 || e.Statuses[0] != 200 ||
			strings.Join(e.Outcomes, ",") != "200" || e.Missing || !strings.HasPrefix(e.URL, good.URL()+"/") {
			t.Errorf("healthy mirror endpoint %+v", e)
		}
	}
	if strings.Join(kinds, " ") != "sumdb-supported list info mod zip latest" {
		t.Errorf("endpoints %q", kinds)
	}
	if s.Verdict != "degraded" || strings.Join(s.Stale, " ") != "v1.1.0" || strings.Join(s.Versions, " ") != "v1.0.0" ||
		len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "lacks v1.1.0") {
		t.Errorf("stale mirror: %+v", s)
	}
	if d.Verdict != "unusable" || d.Reachable || d.Requests != 3 || d.Failures != 3 || d.FailuresByKind["refused"] != 3 ||
		d.Skipped != 15 || d.LatencyP50Seconds != nil || !strings.Contains(d.LastError, "refused") || len(d.Problems) != 1 {
		t.Errorf("dead mirror: %+v", d)
	}
	if e := d.Endpoints[0]; strings.Join(e.Outcomes, ",") != "refused" || len(e.Statuses) != 0 || e.FailuresByKind["refused"] != 3 {
		t.Errorf("dead mirror's first endpoint: %+v", e)
	}
	if e := d.Endpoints[1]; e.Requests != 0 || e.Skipped != 3 || len(e.Outcomes) != 0 {
		t.Errorf("dead mirror's second endpoint: %+v", e)
	}
}

func TestProbeAllHealthyHidesCredentials(t *testing.T) {
	mods, db := fixtures(t)
	a := startMirror(t, db, mods, mirrortest.Healthy())
	b := startMirror(t, db, mods, mirrortest.Healthy())
	withCreds := strings.Replace(b.URL(), "http://", "http://user:secret@", 1)

	for _, format := range []string{"table", "json"} {
		args := []string{"--rounds=2", "--interval=0s", a.URL(), withCreds}
		if format == "json" {
			args = append([]string{"--json"}, args...)
		}
		out, errOut, code := runProbe(t, probeEnv(db), args...)
		if code != exitProbeHealthy {
			t.Errorf("%s: exit status %d, want %d; stderr: %s\n%s", format, code, exitProbeHealthy, errOut, out)
		}
		if strings.Contains(out+errOut, "secret") {
			t.Errorf("%s: the password is printed:\n%s%s", format, out, errOut)
		}
		if format == "table" {
			if !strings.Contains(out, "2 mirrors: 2 healthy, 0 degraded, 0 unusable") {
				t.Errorf("table: %s", out)
			}
			row := tableRow(t, out, "http://user:xxxxx@"+strings.TrimPrefix(b.URL(), "http://"))
			for _, c := range []string{"SUPPORTED", "LIST", "INFO", "MOD", "ZIP", "LATEST"} {
				if got := column(t, row, c); got != "200" {
					t.Errorf("%s column %s, want 200", c, got)
				}
			}
		} else if r := decodeProbeJSON(t, out); r.Verdict != "healthy" || r.Rounds != 2 {
			t.Errorf("json: %+v", r)
		}
	}
}

// TestProbeCredentialsInErrors: a dead mirror's errors carry its URL, but
// not its password.
func TestProbeCredentialsInErrors(t *testing.T) {
	_, db := fixtures(t)
	dead := strings.Replace(mirrortest.ClosedURL(t), "http://", "http://user:secret@", 1)
	out, errOut, code := runProbe(t, probeEnv(db), "--rounds=1", dead)
	if code != exitProbeUnusable || strings.Contains(out+errOut, "secret") || !strings.Contains(out, "refused") {
		t.Errorf("exit status %d, output:\n%s%s", code, out, errOut)
	}
}

func TestProbeNoneUsable(t *testing.T) {
	mods, db := fixtures(t)
	hole := startMirror(t, db, mods, mirrortest.Blackhole())
	dead := mirrortest.ClosedURL(t)
	out, errOut, code := runProbe(t, probeEnv(db, "GOFAILOVER_PROBE_TIMEOUT=200ms"), "--interval=0s", hole.URL(), dead)
	if code != exitProbeUnusable {
		t.Errorf("exit status %d, want %d; stderr: %s", code, exitProbeUnusable, errOut)
	}
	for _, url := range []string{hole.URL(), dead} {
		row := tableRow(t, out, url)
		if column(t, row, "VERDICT") != "unusable" || column(t, row, "REACHABLE") != "no" || column(t, row, "P50") != "-" {
			t.Errorf("row %q: want unusable, unreachable, no latency", row)
		}
	}
	if got := column(t, tableRow(t, out, hole.URL()), "SUPPORTED"); got != "timeout" {
		t.Errorf("blackholed mirror's /supported: %s, want timeout\n%s", got, out)
	}
	if got := column(t, tableRow(t, out, dead), "SUPPORTED"); got != "refused" {
		t.Errorf("dead mirror's /supported: %s, want refused\n%s", got, out)
	}
	if !strings.Contains(out, "2 mirrors: 0 healthy, 0 degraded, 2 unusable") {
		t.Errorf("output:\n%s", out)
	}
}

func TestProbeBadArgumentsExitTwoWithOneLine(t *testing.T) {
	_, db := fixtures(t)
	// Nothing listens there; no test case gets as far as asking.
	dead := mirrortest.ClosedURL(t)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"non-http URL", nil, []string{"ftp://mirror.example"}, `gofailover: probe: upstream "ftp://mirror.example": scheme must be http or https`},
		{"relative URL", nil, []string{"--json", "mirror.example"}, "scheme must be http or https"},
		{"URL twice", nil, []string{dead, dead + "/"}, "listed twice"},
		{"no rounds", nil, []string{"--rounds=0", dead}, "--rounds must be from 1 to 100, got 0"},
		{"negative interval", nil, []string{"--interval=-1s", dead}, "--interval must not be negative"},
		{"bad setting", []string{"GOFAILOVER_PROBE_TIMEOUT=soon"}, []string{dead}, "GOFAILOVER_PROBE_TIMEOUT: invalid value"},
		{"bad setting flag", nil, []string{"--probe-timeout=0s", dead}, "GOFAILOVER_PROBE_TIMEOUT: must be a positive duration"},
		{"bad probe module", []string{"GOFAILOVER_PROBE_MODULE=example.com/lib@master"}, []string{dead}, "GOFAILOVER_PROBE_MODULE:"},
		{"bad configured upstream", []string{"GOFAILOVER_UPSTREAMS=ftp://a.example"}, nil, "GOFAILOVER_UPSTREAMS: upstream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runProbe(t, probeEnv(db, tc.env...), tc.args...)
			if code != exitUsage {
				t.Errorf("exit status %d, want %d", code, exitUsage)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr %q, want one line containing %q", errOut, tc.want)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

// TestProbeConfiguredUpstreams probes the configured upstreams when no URL
// is given: GOFAILOVER_UPSTREAMS, else the go command's GOPROXY list, as
// serve does.
func TestProbeConfiguredUpstreams(t *testing.T) {
	mods, db := fixtures(t)
	a := startMirror(t, db, mods, mirrortest.Healthy())
	b := startMirror(t, db, mods, mirrortest.Healthy())

	t.Run("GOFAILOVER_UPSTREAMS", func(t *testing.T) {
		out, errOut, code := runProbe(t, probeEnv(db, "GOFAILOVER_UPSTREAMS="+a.URL()+","+b.URL()), "--rounds=1")
		if code != exitProbeHealthy {
			t.Errorf("exit status %d; stderr: %s", code, errOut)
		}
		tableRow(t, out, a.URL())
		tableRow(t, out, b.URL())
	})
	t.Run("GOPROXY", func(t *testing.T) {
		var out, errOut bytes.Buffer
		fs := flag.NewFlagSet("gofailover probe", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		environ := []string{"GOFAILOVER_PROBE_MODULE=example.com/lib@v1.0.0", "GOFAILOVER_LISTEN=127.0.0.1:3131"}
		goEnv := fakeGoEnv("http://127.0.0.1:3131,"+b.URL()+",direct", "") // GOSUMDB=off
		code := probeCommand(context.Background(), fs, []string{"--rounds=1", "--json"}, environ, goEnv, &out, &errOut)
		if code != exitProbeHealthy {
			t.Errorf("exit status %d; stderr: %s", code, errOut.String())
		}
		r := decodeProbeJSON(t, out.String())
		if len(r.Mirrors) != 1 || r.Mirrors[0].URL != b.URL() || r.SumDB != "" || len(r.Mirrors[0].Endpoints) != 5 {
			t.Errorf("report %+v, want %s alone, without the checksum database", r, b.URL())
		}
	})
}

func TestProbeHelp(t *testing.T) {
	out, _, code := runProbe(t, nil, "--help")
	if code != exitOK || !strings.Contains(out, "gofailover probe [--json] [--rounds N] [--interval D]") {
		t.Errorf("exit status %d, help:\n%s", code, out)
	}
}
