package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
)

// fakeGoEnv answers `go env GOPROXY` as a go command with the given
// environment value and built-in default would; every other setting is
// empty, except GOSUMDB, which is off.
func fakeGoEnv(goproxy, builtinGOPROXY string) goEnvFunc {
	return func(key string, builtin bool) (string, error) {
		switch {
		case key == "GOSUMDB":
			return "off", nil
		case key != "GOPROXY":
			return "", nil
		case builtin:
			return builtinGOPROXY, nil
		}
		return goproxy, nil
	}
}

func newFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func load(t *testing.T, args []string, environ ...string) (*Config, error) {
	t.Helper()
	return loadConfig(newFlagSet(), args, environ)
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:3131" || cfg.MutableTTL != time.Minute || cfg.CacheDir != "" || len(cfg.Upstreams) != 0 {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestConfigFlagWinsOverEnvironment(t *testing.T) {
	cfg, err := load(t, []string{"--listen", "127.0.0.1:9999", "--upstreams=http://a.test,http://b.test"},
		"GOFAILOVER_LISTEN=127.0.0.1:8888", "GOFAILOVER_MUTABLE_TTL=5s", "GOFAILOVER_UPSTREAMS=http://c.test")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9999" {
		t.Errorf("Listen = %q, want the flag's value", cfg.Listen)
	}
	if cfg.MutableTTL != 5*time.Second {
		t.Errorf("MutableTTL = %v, want the environment's value", cfg.MutableTTL)
	}
	if strings.Join(cfg.Upstreams, " ") != "http://a.test http://b.test" {
		t.Errorf("Upstreams = %q", cfg.Upstreams)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string
	}{
		{"bad duration env", nil, []string{"GOFAILOVER_MUTABLE_TTL=soon"}, "GOFAILOVER_MUTABLE_TTL: invalid value"},
		{"bad duration flag", []string{"--idle-timeout=x"}, nil, "--idle-timeout: invalid value"},
		{"negative duration", nil, []string{"GOFAILOVER_MUTABLE_TTL=-1s"}, "GOFAILOVER_MUTABLE_TTL: must be a positive duration"},
		{"bad log level", nil, []string{"GOFAILOVER_LOG_LEVEL=loud"}, "GOFAILOVER_LOG_LEVEL: \"loud\" is not a log level: must be debug, info, warn or error"},
		{"error rate above 1", nil, []string{"GOFAILOVER_BREAKER_ERROR_RATE=1.5"}, "GOFAILOVER_BREAKER_ERROR_RATE: must be above 0"},
		{"zero failures", []string{"--breaker-failures=0"}, nil, "GOFAILOVER_BREAKER_FAILURES: must be a positive number"},
		{"bad private probe module", nil, []string{"GOFAILOVER_PRIVATE_PROBE_MODULE=corp.example/lib@latest"}, "GOFAILOVER_PRIVATE_PROBE_MODULE:"},
		{"bad cache size", nil, []string{"GOFAILOVER_CACHE_MAX_SIZE=lots"}, "GOFAILOVER_CACHE_MAX_SIZE: invalid value"},
		{"negative half-life", nil, []string{"GOFAILOVER_LATENCY_HALF_LIFE=-1s"}, "GOFAILOVER_LATENCY_HALF_LIFE: must be a positive duration"},
		{"zero hysteresis", nil, []string{"GOFAILOVER_ROUTING_HYSTERESIS=0"}, "GOFAILOVER_ROUTING_HYSTERESIS: must be a positive number"},
		{"backoff cap below backoff", nil, []string{"GOFAILOVER_BREAKER_BACKOFF=10m"}, "GOFAILOVER_BREAKER_MAX_BACKOFF:"},
		{"bad listen", nil, []string{"GOFAILOVER_LISTEN=3131"}, "GOFAILOVER_LISTEN:"},
		{"non-http upstream", nil, []string{"GOFAILOVER_UPSTREAMS=ftp://mirror.test"}, "GOFAILOVER_UPSTREAMS: upstream \"ftp://mirror.test\": scheme must be http or https"},
		{"relative upstream", nil, []string{"GOFAILOVER_UPSTREAMS=mirror.test"}, "GOFAILOVER_UPSTREAMS:"},
		{"duplicate upstream", nil, []string{"GOFAILOVER_UPSTREAMS=http://a.test,http://a.test"}, "listed twice"},
		{"unwritable cache dir", nil, []string{"GOFAILOVER_CACHE_DIR=" + filepath.Join(dir, "file", "sub")}, "GOFAILOVER_CACHE_DIR: cannot create"},
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append([]string{"GOFAILOVER_UPSTREAMS=http://ok.test", "GOFAILOVER_CACHE_DIR=" + t.TempDir()}, tt.environ...)
			cfg, err := load(t, tt.args, env...)
			if err == nil {
				err = cfg.validate(fakeGoEnv("", ""))
			}
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error = %q, want one line containing %q", err, tt.want)
			}
		})
	}
}

func TestDefaultUpstreamsFromGoProxy(t *testing.T) {
	const listen = "127.0.0.1:3131"
	tests := []struct {
		goproxy, builtin string
		want             string // space-separated, or "error"
	}{
		{"http://a.test,http://b.test|https://c.test,direct", "", "http://a.test http://b.test https://c.test"},
		{"http://127.0.0.1:3131,http://a.test", "", "http://a.test"},
		{"http://localhost:3131/,off", "", "error"}, // only self, and no built-in default
		{"http://localhost:3131", "http://builtin.test,direct", "http://builtin.test"},
		{"http://127.0.0.1:3131|direct", "http://builtin.test,direct", "http://builtin.test"},
		{"direct", "http://builtin.test", "error"}, // the user chose no mirror
		{"off", "http://builtin.test", "error"},
		{"http://127.0.0.1:4000,direct", "", "http://127.0.0.1:4000"}, // another port is another server
	}
	for _, tt := range tests {
		got, err := defaultUpstreams(listen, fakeGoEnv(tt.goproxy, tt.builtin))
		gotStr := strings.Join(got, " ")
		if err != nil {
			gotStr = "error"
		}
		if gotStr != tt.want {
			t.Errorf("GOPROXY=%q builtin=%q: upstreams %q (err %v), want %q", tt.goproxy, tt.builtin, gotStr, err, tt.want)
		}
	}
}

// TestHelpListsEverySetting: `gofailover serve --help` lists every
// setting's flag, and says how its environment variable is named.
func TestHelpListsEverySetting(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--help"}, nil, &out, &errOut); code != exitOK {
		t.Fatalf("serve --help exit status %d; stderr: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "(--cache-dir: GOFAILOVER_CACHE_DIR)") {
		t.Errorf("serve --help does not say how the variables are named:\n%s", out.String())
	}
	for _, s := range settings() {
		if !strings.Contains(out.String(), "  --"+s.flag) {
			t.Errorf("serve --help does not list --%s:\n%s", s.flag, out.String())
		}
		if s.usage == "" {
			t.Errorf("setting %s has no usage text", s.envVar)
		}
	}
	if !strings.Contains(out.String(), "1m") {
		t.Errorf("--help does not show defaults:\n%s", out.String())
	}
}

func TestRunBadSettingExitsTwoWithOneLine(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--mutable-ttl=abc"}, nil, &out, &errOut)
	if code != exitUsage {
		t.Errorf("exit status %d, want %d", code, exitUsage)
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "--mutable-ttl") {
		t.Errorf("stderr = %q, want one line naming --mutable-ttl", errOut.String())
	}
}

// TestReadmeListsEverySetting keeps the README's settings table in step
// with the code.
func TestReadmeListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings() {
		row := "| `" + s.envVar + "` | `--" + s.flag + "` |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md has no settings row starting %q", row)
		}
	}
}

// TestHealthDefaultsMatchHealthPackage keeps the settings' defaults (shown
// by --help and the README) equal to the health package's own.
func TestHealthDefaultsMatchHealthPackage(t *testing.T) {
	cfg, err := load(t, nil, "GOFAILOVER_UPSTREAMS=http://a.test", "GOFAILOVER_CACHE_DIR="+t.TempDir())
	if err == nil {
		err = cfg.validate(fakeGoEnv("", ""))
	}
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.healthConfig(), health.DefaultConfig(); got != want {
		t.Errorf("health settings' defaults give %+v, want the health package's %+v", got, want)
	}
}

// TestLatencyHalfLifeFollowsProbeInterval: unset, the latency half-life is
// a fifth of the probe interval, so that one probe round outweighs what
// made traffic leave a mirror, whatever the interval.
func TestLatencyHalfLifeFollowsProbeInterval(t *testing.T) {
	for _, tt := range []struct {
		env  []string
		want time.Duration
	}{
		{[]string{"GOFAILOVER_PROBE_INTERVAL=1s"}, 200 * time.Millisecond},
		{[]string{"GOFAILOVER_PROBE_INTERVAL=1m"}, 12 * time.Second},
		{[]string{"GOFAILOVER_PROBE_INTERVAL=0"}, health.DefaultConfig().EWMAHalfLife},
		{[]string{"GOFAILOVER_PROBE_INTERVAL=1s", "GOFAILOVER_LATENCY_HALF_LIFE=7s"}, 7 * time.Second},
	} {
		cfg, err := load(t, nil, append(tt.env, "GOFAILOVER_UPSTREAMS=http://a.test", "GOFAILOVER_CACHE_DIR="+t.TempDir())...)
		if err == nil {
			err = cfg.validate(fakeGoEnv("", ""))
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.healthConfig().EWMAHalfLife; got != tt.want {
			t.Errorf("%v: half-life %v, want %v", tt.env, got, tt.want)
		}
	}
}

// TestProbeModuleOff: PROBE_MODULE=off leaves only the checksum
// database's /supported to probe (an empty value means the default, as
// for every setting).
func TestProbeModuleOff(t *testing.T) {
	cfg, err := load(t, nil, "GOFAILOVER_PROBE_MODULE=off")
	if err != nil {
		t.Fatal(err)
	}
	if pc := cfg.probeConfig(nil); pc.Module != "" || pc.Version != "" {
		t.Errorf("probe module %q@%q, want none", pc.Module, pc.Version)
	}
}
