package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gofailover/gofailover/proxy/statuspage"
)

// runCLI runs `gofailover args...` and returns its exit status, stdout and
// stderr.
func runCLI(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, environ, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestCommandHelp: every command has its own short help, on stdout with
// exit status 0, every line within 80 columns.
func TestCommandHelp(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string // what the help mentions
		most int      // lines at most
	}{
		{"--help", []string{"--help"}, []string{"gofailover status [flags]", "gofailover version", "'gofailover serve --help'", "README.md", "Settings"}, 30},
		{"-h", []string{"-h"}, []string{"gofailover probe [flags] [URL]"}, 30},
		{"help", []string{"help"}, []string{"gofailover healthcheck [flags]"}, 30},
		{"serve --help", []string{"serve", "--help"}, []string{"Usage: gofailover [serve] [flags]", "--listen=127.0.0.1:3131", "--log-level=info", "README.md"}, 80},
		{"implicit serve --help", []string{"--listen=:1", "--help"}, []string{"Usage: gofailover [serve] [flags]"}, 80},
		{"status --help", []string{"status", "--help"}, []string{"Usage: gofailover status", "--json", "--url URL", "Exit status:", "P0"}, 25},
		{"probe --help", []string{"probe", "--help"}, []string{"Usage: gofailover probe [--json] [--rounds N] [--interval D]", "Exit status:", "unusable"}, 35},
		{"probe URL --help", []string{"probe", "http://a.example", "--help"}, []string{"Usage: gofailover probe"}, 35},
		{"healthcheck --help", []string{"healthcheck", "--help"}, []string{"Usage: gofailover healthcheck", "/healthz", "Exit status"}, 12},
		{"version --help", []string{"version", "--help"}, []string{"Usage: gofailover version", "revision"}, 12},
		{"help --help", []string{"help", "--help"}, []string{"Usage: gofailover help [COMMAND]"}, 8},
		{"help status", []string{"help", "status"}, []string{"Usage: gofailover status"}, 25},
		{"help probe", []string{"help", "probe"}, []string{"Usage: gofailover probe"}, 35},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, tc.args...)
			if code != exitOK || errOut != "" {
				t.Errorf("exit status %d, stderr %q; want 0 and nothing", code, errOut)
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("help lacks %q", want)
				}
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) > tc.most {
				t.Errorf("help has %d lines, want %d at most", len(lines), tc.most)
			}
			for _, l := range lines {
				if n := utf8.RuneCountInString(l); n > helpWidth {
					t.Errorf("line of %d columns: %q", n, l)
				}
			}
			if t.Failed() {
				t.Logf("help:\n%s", out)
			}
		})
	}
	// Each command's help is its own.
	seen := map[string]string{}
	for _, cmd := range commands {
		_, out, _ := runCLI(t, nil, cmd, "--help")
		if other, ok := seen[out]; ok {
			t.Errorf("%s --help is the same as %s --help", cmd, other)
		}
		seen[out] = cmd
	}
}

// TestFlagErrors: a flag error or a stray argument prints one line and
// a pointer to the command's help, on stderr, and exits 2.
func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		cmd  string
		want string
	}{
		{[]string{"--listn=:1"}, "serve", "flag provided but not defined: -listn"},
		{[]string{"serve", "extra"}, "serve", `unexpected argument "extra"`},
		{[]string{"status", "--jsn"}, "status", "flag provided but not defined: -jsn"},
		{[]string{"status", "--url"}, "status", "flag needs an argument: -url"},
		{[]string{"probe", "--rounds=many", "http://a.example"}, "probe", `invalid value "many" for flag -rounds`},
		{[]string{"probe", "http://a.example", "--jsn"}, "probe", "flag provided but not defined: -jsn"},
		{[]string{"healthcheck", "now"}, "healthcheck", `unexpected argument "now"`},
		{[]string{"version", "--short"}, "version", "flag provided but not defined: -short"},
		{[]string{"version", "extra"}, "version", `unexpected argument "extra"`},
		{[]string{"--version", "extra"}, "version", `unexpected argument "extra"`},
		{[]string{"help", "serv"}, "help", `unknown command "serv"`},
	} {
		code, out, errOut := runCLI(t, nil, tc.args...)
		want := "gofailover " + tc.cmd + ": " + tc.want + "\nrun 'gofailover " + tc.cmd + " --help'\n"
		if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "gofailover "+tc.cmd+": "+tc.want) ||
			!strings.HasSuffix(errOut, "\nrun 'gofailover "+tc.cmd+" --help'\n") || strings.Count(errOut, "\n") != 2 {
			t.Errorf("%q: exit status %d, stdout %q, stderr %q; want %d and %q", tc.args, code, out, errOut, exitUsage, want)
		}
	}
	code, _, errOut := runCLI(t, nil, "stauts")
	if code != exitUsage || errOut != "gofailover: unknown command \"stauts\"\nrun 'gofailover --help'\n" {
		t.Errorf("unknown command: exit status %d, stderr %q", code, errOut)
	}
}

// TestFlagsAfterArguments: flags may follow the arguments; after "--"
// everything is an argument.
func TestFlagsAfterArguments(t *testing.T) {
	fs := newFlagSet()
	o := addProbeFlags(fs)
	cfg, urls, err := loadConfigArgs(fs, []string{"http://a.example", "--json", "http://b.example", "--rounds", "2", "--probe-timeout=3s", "--", "--c"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !o.json || o.rounds != 2 || cfg.ProbeTimeout != 3*time.Second || strings.Join(urls, " ") != "http://a.example http://b.example --c" {
		t.Errorf("json %v, rounds %d, probe timeout %v, arguments %q", o.json, o.rounds, cfg.ProbeTimeout, urls)
	}
	// Through the command: --json after the URL is a flag, not a URL.
	code, _, errOut := runCLI(t, nil, "probe", "ftp://a.example", "--json")
	if code != exitUsage || !strings.Contains(errOut, `upstream "ftp://a.example"`) || strings.Contains(errOut, "--json") {
		t.Errorf("probe URL --json: exit status %d, stderr %q", code, errOut)
	}
}

// TestVersion: `gofailover version` and `--version` print the module
// version, with the VCS revision and time when the build has them.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, out, errOut := runCLI(t, nil, args...)
		if code != exitOK || errOut != "" || out != "gofailover "+readVersion().String()+" "+readVersion().GoVersion+"\n" {
			t.Errorf("%q: exit status %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{nil, "(devel)"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-03-10T12:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			"(devel) (revision 0123abcd-modified, 2026-03-10T12:00:00Z)"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260310120000-0123456789ab"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.modified", Value: "false"}}},
			"v0.0.0-20260310120000-0123456789ab (revision 0123456789ab)"},
	} {
		if got := versionFrom(tc.bi).String(); got != tc.want {
			t.Errorf("version of %+v = %q, want %q", tc.bi, got, tc.want)
		}
	}
	var b bytes.Buffer
	if err := printVersion(&b, versionInfo{Version: "v1.2.3", GoVersion: "go1.26.0"}); err != nil || b.String() != "gofailover v1.2.3 go1.26.0\n" {
		t.Errorf("printVersion = %q, %v", b.String(), err)
	}
}

// fakeStatus serves rep as /status.json.
func fakeStatus(t *testing.T, rep statuspage.Report) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(rep)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestStatusExitStatus: `gofailover status` exits 0 when every upstream
// is healthy, 1 when one is not, 2 while a P0 alert fires, with the table
// or the JSON alike.
func TestStatusExitStatus(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	healthy := statuspage.Upstream{Name: "https://a.example", Preferred: true, Health: statuspage.Health{State: "healthy", Since: now.Add(-time.Hour), Samples: 50, P50: 0.04, P95: 0.08, P99: 0.1, ErrorRate: 0},
		Score: 0.05, Requests: 100}
	up := func(state string) statuspage.Upstream {
		return statuspage.Upstream{Name: "https://b.example", Health: statuspage.Health{State: state, Since: now.Add(-13 * time.Minute), Samples: 20, P99: 0, ErrorRate: 1},
			Score: 1.2, Requests: 40, Failures: 40}
	}
	p0 := statuspage.Alert{Rule: "all_upstreams_down", Severity: "P0", State: "firing", Since: now.Add(-12 * time.Minute), FiredAt: now.Add(-11 * time.Minute)}
	for _, tc := range []struct {
		name      string
		upstreams []statuspage.Upstream
		alerts    []statuspage.Alert
		want      int
	}{
		{"all healthy", []statuspage.Upstream{healthy}, nil, exitStatusHealthy},
		{"P2 firing, all healthy", []statuspage.Upstream{healthy}, []statuspage.Alert{{Rule: "latency_high", Severity: "P2", State: "firing"}}, exitStatusHealthy},
		{"degraded", []statuspage.Upstream{healthy, up("degraded")}, nil, exitStatusDegraded},
		{"open", []statuspage.Upstream{healthy, up("open")}, nil, exitStatusDegraded},
		{"half-open", []statuspage.Upstream{healthy, up("half-open")}, nil, exitStatusDegraded},
		{"quarantined", []statuspage.Upstream{healthy, up("quarantined")}, nil, exitStatusDegraded},
		{"P0 pending", []statuspage.Upstream{up("open")}, []statuspage.Alert{{Rule: "all_upstreams_down", Severity: "P0", State: "pending"}}, exitStatusDegraded},
		{"P0 resolved", []statuspage.Upstream{healthy}, []statuspage.Alert{{Rule: "all_upstreams_down", Severity: "P0", State: "resolved"}}, exitStatusHealthy},
		{"P0 firing", []statuspage.Upstream{up("open")}, []statuspage.Alert{p0}, exitStatusP0},
	} {
		url := fakeStatus(t, statuspage.Report{GeneratedAt: now, StartedAt: now.Add(-2 * time.Hour), Upstreams: tc.upstreams, Alerts: tc.alerts})
		for _, args := range [][]string{{"status", "--url", url}, {"status", "--json", "--url", url}, {"status", "--url", url, "--json"}} {
			code, out, errOut := runCLI(t, nil, args...)
			if code != tc.want || errOut != "" || out == "" {
				t.Errorf("%s: %q: exit status %d, stderr %q; want %d", tc.name, args, code, errOut, tc.want)
			}
		}
	}
}

// TestStatusShowsADeadMirrorsFailures: a mirror failing every request
// shows its error rate and since when it is down, though its latency is
// unknown; between breaker trials, when its window is empty, its failures
// in a row.
func TestStatusShowsADeadMirrorsFailures(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	rep := statuspage.Report{GeneratedAt: now, StartedAt: now.Add(-2 * time.Hour), Upstreams: []statuspage.Upstream{
		{Name: "https://dead.example", Health: statuspage.Health{State: "open", Since: now.Add(-13 * time.Minute), Samples: 12, ErrorRate: 1, ConsecutiveFailures: 12},
			Score: 1, Requests: 40, Failures: 40},
		{Name: "https://trial.example", Health: statuspage.Health{State: "half-open", Since: now.Add(-13 * time.Minute), ConsecutiveFailures: 9},
			Requests: 30, Failures: 30},
	}}
	code, out, errOut := runCLI(t, nil, "status", "--url", fakeStatus(t, rep))
	if code != exitStatusDegraded || errOut != "" {
		t.Errorf("exit status %d, stderr %q", code, errOut)
	}
	if !hasRow(out, []string{"https://dead.example", "open"}) || !strings.Contains(out, "since 11:47:00 (13m)") ||
		!hasRow(out, []string{"1.00 s", "–", "–", "–", "100%"}) || !hasRow(out, []string{"–", "–", "–", "–", "100% (last 9)"}) {
		t.Errorf("dead mirrors' rows:\n%s", out)
	}
}

// hasRow reports whether a line of out has the fields want in a row,
// separated by spaces only.
func hasRow(out string, want []string) bool {
	for line := range strings.Lines(out) {
		for start := 0; start < len(line); start++ {
			rest, ok := line[start:], true
			for _, f := range want {
				if !strings.HasPrefix(rest, f) {
					ok = false
					break
				}
				rest = strings.TrimLeft(rest[len(f):], " ")
			}
			if ok {
				return true
			}
		}
	}
	return false
}

// TestShortUsageNamesSettings: every short meaning in serve --help is a
// setting's.
func TestShortUsageNamesSettings(t *testing.T) {
	flags := map[string]bool{}
	for _, s := range settings() {
		flags[s.flag] = true
	}
	for f := range shortUsage {
		if !flags[f] {
			t.Errorf("shortUsage has --%s, which is no setting", f)
		}
	}
}
