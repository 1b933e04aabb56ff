package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// validated loads and validates the settings in environ and args, with
// the go command's settings faked (GOPROXY empty, GOSUMDB off).
func validated(t *testing.T, args []string, environ ...string) (*Config, error) {
	t.Helper()
	cfg, err := load(t, args, append([]string{"GOFAILOVER_CACHE_DIR=" + t.TempDir()}, environ...)...)
	if err == nil {
		err = cfg.validate(fakeGoEnv("", ""))
	}
	return cfg, err
}

// TestUpstreamsPastedFromGoProxy: GOFAILOVER_UPSTREAMS takes a `go env
// GOPROXY` value as it is: "|" separates as "," does, and direct, off and
// this server are dropped.
func TestUpstreamsPastedFromGoProxy(t *testing.T) {
	for _, tc := range []struct {
		value, mirrors, dropped string
	}{
		{"https://a.example,direct", "https://a.example", "direct"},
		{"https://a.example|https://b.example,off", "https://a.example https://b.example", "off"},
		{"https://a.example | https://b.example , direct", "https://a.example https://b.example", "direct"},
		{"http://127.0.0.1:3131,https://a.example,direct", "https://a.example", "http://127.0.0.1:3131 direct"},
		{"https://a.example,https://b.example", "https://a.example https://b.example", ""},
	} {
		cfg, err := validated(t, nil, "GOFAILOVER_UPSTREAMS="+tc.value, "GOFAILOVER_LISTEN=127.0.0.1:3131")
		if err != nil {
			t.Errorf("%q: %v", tc.value, err)
			continue
		}
		if got := strings.Join(cfg.Upstreams, " "); got != tc.mirrors {
			t.Errorf("%q: upstreams %q, want %q", tc.value, got, tc.mirrors)
		}
		if got := strings.Join(cfg.droppedUpstreams, " "); got != tc.dropped {
			t.Errorf("%q: dropped %q, want %q", tc.value, got, tc.dropped)
		}
	}
	_, err := validated(t, nil, "GOFAILOVER_UPSTREAMS=direct|off")
	if err == nil || err.Error() != "GOFAILOVER_UPSTREAMS names no mirror, only direct, off; set it to your mirrors' URLs, comma-separated" {
		t.Errorf("only direct and off: %v", err)
	}

	// The server logs what it dropped, at INFO: a bad setting after it
	// stops start-up before anything else happens.
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--upstreams=https://a.example,direct", "--listen=nonsense:x:y"}, nil, &out, &errOut)
	if code != exitUsage || strings.Contains(errOut.String(), "dropped") {
		t.Errorf("exit status %d, stderr %q", code, errOut.String())
	}
	code = run(context.Background(), []string{"--upstreams=https://a.example,direct", "--cache-dir=" + t.TempDir(), "--listen=256.0.0.1:1", "--sumdb=off"}, nil, &out, &errOut)
	if got := errOut.String(); !strings.Contains(got, `level=INFO msg="GOFAILOVER_UPSTREAMS: dropped the entries that name no mirror, as a GOPROXY value has them" dropped=direct upstreams=https://a.example`) {
		t.Errorf("exit status %d, stderr %q; want the INFO line about direct", code, got)
	}
}

// TestSettingErrorsSayItOnce: an error names its setting once, lists the
// choices of an enumeration, and calls nothing an upstream but upstreams.
func TestSettingErrorsSayItOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		environ []string
		want    string
	}{
		{"log level", []string{"--log-level=verbose"}, nil, `--log-level: "verbose" is not a log level: must be debug, info, warn or error`},
		{"log level env", nil, []string{"GOFAILOVER_LOG_LEVEL=loud"}, `GOFAILOVER_LOG_LEVEL: "loud" is not a log level: must be debug, info, warn or error`},
		{"log format", []string{"--log-format=xml"}, nil, `GOFAILOVER_LOG_FORMAT: must be text or json, got "xml"`},
		{"sumdb", nil, []string{"GOFAILOVER_SUMDB=sum.example.org+nokey"}, "GOFAILOVER_SUMDB: "},
		{"webhook scheme", nil, []string{"GOFAILOVER_ALERT_WEBHOOK=ftp://hooks.example"}, `GOFAILOVER_ALERT_WEBHOOK: "ftp://hooks.example": scheme must be http or https`},
		{"webhook host", nil, []string{"GOFAILOVER_ALERT_WEBHOOK=http:///x"}, `GOFAILOVER_ALERT_WEBHOOK: "http:///x": no host`},
		{"alertmanager", nil, []string{"GOFAILOVER_ALERTMANAGER_URL=http://am.example,am2.example"}, `GOFAILOVER_ALERTMANAGER_URL: "am2.example": scheme must be http or https`},
	} {
		_, err := validated(t, tc.args, append([]string{"GOFAILOVER_UPSTREAMS=http://a.example"}, tc.environ...)...)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, tc.want) || strings.Contains(msg, "upstream") {
			t.Errorf("%s: error %q, want it to start %q, without \"upstream\"", tc.name, msg, tc.want)
		}
		if name, _, _ := strings.Cut(msg, ":"); strings.Count(msg, name) != 1 && !strings.HasPrefix(name, "--") {
			t.Errorf("%s: error %q names %s twice", tc.name, msg, name)
		}
	}
}

// TestIntervalBounds: intervals have a least value, with a clear error;
// a probe interval of 0 still turns probing off.
func TestIntervalBounds(t *testing.T) {
	for _, tc := range []struct {
		setting string
		want    string // "" for no error
	}{
		{"GOFAILOVER_PROBE_INTERVAL=1ms", "GOFAILOVER_PROBE_INTERVAL: must be at least 1s (or 0: no probes), got 1ms"},
		{"GOFAILOVER_PROBE_INTERVAL=999ms", "GOFAILOVER_PROBE_INTERVAL: must be at least 1s (or 0: no probes), got 999ms"},
		{"GOFAILOVER_PROBE_INTERVAL=-1s", "GOFAILOVER_PROBE_INTERVAL: must be at least 1s (or 0: no probes), got -1s"},
		{"GOFAILOVER_PROBE_INTERVAL=0", ""},
		{"GOFAILOVER_PROBE_INTERVAL=1s", ""},
		{"GOFAILOVER_PROBE_TIMEOUT=1ms", "GOFAILOVER_PROBE_TIMEOUT: must be at least 10ms, got 1ms"},
		{"GOFAILOVER_HEALTH_WINDOW=500ms", "GOFAILOVER_HEALTH_WINDOW: must be at least 1s, got 500ms"},
		{"GOFAILOVER_HEDGE_FLOOR=1µs", "GOFAILOVER_HEDGE_FLOOR: must be at least 1ms, got 1µs"},
		{"GOFAILOVER_HEDGE_FLOOR=1ms", ""},
		{"GOFAILOVER_BREAKER_BACKOFF=10ms", "GOFAILOVER_BREAKER_BACKOFF: must be at least 100ms, got 10ms"},
		{"GOFAILOVER_ALERT_FOR=100ms", "GOFAILOVER_ALERT_FOR: must be at least 1s, got 100ms"},
		{"GOFAILOVER_SCRUB_INTERVAL=1s", "GOFAILOVER_SCRUB_INTERVAL: must be at least 1m0s, got 1s"},
	} {
		_, err := validated(t, nil, "GOFAILOVER_UPSTREAMS=http://a.example", tc.setting)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.setting, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%s: error %v, want %q", tc.setting, err, tc.want)
		}
	}
	// The flag too, through the command: one line, exit status 2.
	code, _, errOut := runCLI(t, nil, "--probe-interval=1ms", "--upstreams=http://a.example")
	if code != exitUsage || errOut != "gofailover: GOFAILOVER_PROBE_INTERVAL: must be at least 1s (or 0: no probes), got 1ms\n" {
		t.Errorf("--probe-interval=1ms: exit status %d, stderr %q", code, errOut)
	}
}
