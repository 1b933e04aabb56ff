package main

import (
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/gofailover/gofailover/health/alert"
)

// TestAlertmanagerURLSetting: GOFAILOVER_ALERTMANAGER_URL takes one or
// more comma-separated URLs, refuses one that is not http or https, and
// gives the server an Alertmanager notifier; unset, there is none.
func TestAlertmanagerURLSetting(t *testing.T) {
	cfg, err := load(t, nil, "GOFAILOVER_UPSTREAMS=http://mirror.example", "GOFAILOVER_ALERTMANAGER_URL=http://am-1.example:9093,https://am-2.example/prefix")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(fakeGoEnv("", "")); err != nil {
		t.Fatal(err)
	}
	if len(cfg.AlertmanagerURL) != 2 || cfg.AlertmanagerURL[1] != "https://am-2.example/prefix" {
		t.Errorf("AlertmanagerURL = %q", cfg.AlertmanagerURL)
	}
	am, err := newAlertmanager(cfg, slog.New(slog.DiscardHandler))
	if err != nil || am == nil {
		t.Fatalf("newAlertmanager = %v, %v", am, err)
	}
	if n := notifiers(nil, am); n != alert.Notifier(am) {
		t.Errorf("notifiers(nil, am) = %v, want am", n)
	}

	cfg, err = load(t, []string{"--upstreams=http://mirror.example", "--alertmanager-url=ftp://am.example"})
	if err == nil {
		err = cfg.validate(fakeGoEnv("", ""))
	}
	if err == nil || !strings.HasPrefix(err.Error(), "GOFAILOVER_ALERTMANAGER_URL: ") {
		t.Errorf("an ftp URL: error %v, want one naming GOFAILOVER_ALERTMANAGER_URL", err)
	}

	cfg, err = load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if am, err := newAlertmanager(cfg, slog.New(slog.DiscardHandler)); am != nil || err != nil {
		t.Errorf("unset: newAlertmanager = %v, %v; want none", am, err)
	}
	if n := notifiers(nil, nil); n != nil {
		t.Errorf("notifiers(nil, nil) = %v, want nil", n)
	}
}

// TestAlertInstance: the instance label is the listen address, with the
// host name for an unspecified host.
func TestAlertInstance(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	for in, want := range map[string]string{
		"127.0.0.1:3131":     "127.0.0.1:3131",
		"proxy.example:3131": "proxy.example:3131",
		":3131":              host + ":3131",
		"0.0.0.0:3131":       host + ":3131",
		"[::]:3131":          host + ":3131",
	} {
		if got := alertInstance(in); got != want {
			t.Errorf("alertInstance(%q) = %q, want %q", in, got, want)
		}
	}
}
