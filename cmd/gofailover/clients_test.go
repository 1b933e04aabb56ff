package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/clientlimit"
)

func TestClientSettings(t *testing.T) {
	cfg, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConnections != 0 || cfg.ClientReadTimeout != 10*time.Second || cfg.ClientWriteTimeout != 30*time.Second || cfg.ClientIdleTimeout != 2*time.Minute {
		t.Errorf("defaults: max %d, read %v, write %v, idle %v; want 0 (derived), 10s, 30s, 2m",
			cfg.MaxConnections, cfg.ClientReadTimeout, cfg.ClientWriteTimeout, cfg.ClientIdleTimeout)
	}
	for _, tt := range []struct {
		environ []string
		want    string // "" for no error
	}{
		{[]string{"GOFAILOVER_MAX_CONNECTIONS=-1"}, "GOFAILOVER_MAX_CONNECTIONS: must not be negative"},
		{[]string{"GOFAILOVER_MAX_CONNECTIONS=many"}, "GOFAILOVER_MAX_CONNECTIONS: invalid value"},
		{[]string{"GOFAILOVER_CLIENT_READ_TIMEOUT=0s"}, "GOFAILOVER_CLIENT_READ_TIMEOUT: must be a positive duration"},
		{[]string{"GOFAILOVER_CLIENT_IDLE_TIMEOUT=-1s"}, "GOFAILOVER_CLIENT_IDLE_TIMEOUT: must be a positive duration"},
		{[]string{"GOFAILOVER_CLIENT_WRITE_TIMEOUT=-1s"}, "GOFAILOVER_CLIENT_WRITE_TIMEOUT: must not be negative"},
		{[]string{"GOFAILOVER_CLIENT_WRITE_TIMEOUT=0", "GOFAILOVER_MAX_CONNECTIONS=100"}, ""},
	} {
		env := append([]string{"GOFAILOVER_UPSTREAMS=http://ok.test", "GOFAILOVER_CACHE_DIR=" + t.TempDir()}, tt.environ...)
		cfg, err := load(t, nil, env...)
		if err == nil {
			err = cfg.validate(fakeGoEnv("", ""))
		}
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%v: %v, want no error", tt.environ, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%v: %v, want an error containing %q", tt.environ, err, tt.want)
		}
	}
}

// TestListenClientsDerivesTheCap shows the connection cap taken from the
// open-file limit when unset, and the limits logged.
func TestListenClientsDerivesTheCap(t *testing.T) {
	cfg, err := load(t, nil, "GOFAILOVER_LISTEN=127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	ln, err := listenClients(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fl, err := clientlimit.RaiseFileLimit()
	if err != nil {
		t.Skipf("no open-file limit here: %v", err)
	}
	if got, want := ln.Stats().Max, clientlimit.DefaultMaxConns(fl.Soft); got != want {
		t.Errorf("cap %d, want %d for an open-file limit of %d", got, want, fl.Soft)
	}
	if fl.Soft != fl.Hard {
		t.Errorf("soft open-file limit %d after start, want the hard limit %d", fl.Soft, fl.Hard)
	}
	if !strings.Contains(logs.String(), "max_connections=") || !strings.Contains(logs.String(), "open_files_hard=") {
		t.Errorf("the limits are not logged:\n%s", logs.String())
	}
}
