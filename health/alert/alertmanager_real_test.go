package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// requireAlertmanagerEnv makes TestRealAlertmanager fail, rather than
// skip, without an Alertmanager binary; .ci/run sets it.
const requireAlertmanagerEnv = "GOFAILOVER_REQUIRE_ALERTMANAGER"

// alertmanagerBinary returns the path of Prometheus Alertmanager (Debian's
// prometheus-alertmanager package), or skips the test loudly (fails it
// under GOFAILOVER_REQUIRE_ALERTMANAGER=1).
func alertmanagerBinary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	mirrortest.MissingComponent(t, &skipped, requireAlertmanagerEnv, "the real-Alertmanager test",
		"neither prometheus-alertmanager nor alertmanager is in PATH (apt-get install prometheus-alertmanager)")
	return ""
}

// startAlertmanager runs Alertmanager on a free port of 127.0.0.1 with a
// temporary configuration (one null receiver) and storage, clustering
// off, until the test ends, and returns its base URL once it is ready.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	bin := alertmanagerBinary(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(conf, []byte("route:\n  receiver: 'null'\nreceivers:\n- name: 'null'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out strings.Builder
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+conf,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("alertmanager's output:\n%s", out.String())
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("alertmanager exited: %v\n%s", err, out.String())
		default:
		}
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager not ready within 30s:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// gettableAlert is what Alertmanager's GET /api/v2/alerts lists.
type gettableAlert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	EndsAt   time.Time         `json:"endsAt"`
	Status   struct {
		State string `json:"state"`
	} `json:"status"`
}

// amAlerts returns the alerts Alertmanager at base holds.
func amAlerts(t *testing.T, base string) []gettableAlert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var as []gettableAlert
	if err := json.NewDecoder(resp.Body).Decode(&as); err != nil {
		t.Fatalf("decoding GET /api/v2/alerts: %v", err)
	}
	return as
}

// TestRealAlertmanager runs the real Prometheus Alertmanager and has the
// Engine, with an Alertmanager notifier, watch a fixture mirror (probed
// over HTTP into a health.Pool) that goes down: Alertmanager holds its
// alerts, active, with their severities and labels. Then the mirror heals
// and Alertmanager sees them resolved.
func TestRealAlertmanager(t *testing.T) {
	base := startAlertmanager(t)

	var down atomic.Bool
	mirror := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(rw, "down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "v1.0.0")
	}))
	defer mirror.Close()
	ups, err := health.NewUpstreams([]string{mirror.URL}, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	pool := health.NewPool(ups, health.Config{OpenBackoff: 50 * time.Millisecond, MaxOpenBackoff: 100 * time.Millisecond}, nil)
	probe := func() {
		for range probeRound {
			start := time.Now()
			resp, err := http.Get(mirror.URL + "/example.com/m/@v/list")
			o := health.Outcome{Probe: true, Path: "/example.com/m/@v/list"}
			switch {
			case err != nil:
				o.Failure, o.Err = health.FailOther, err
			default:
				resp.Body.Close()
				o.Status, o.FirstByte, o.Total = resp.StatusCode, time.Since(start), time.Since(start)
				if resp.StatusCode >= 500 {
					o.Failure = health.FailStatus5xx
				}
			}
			pool.Report(ups[0], o)
		}
	}

	am, err := NewAlertmanager(AlertmanagerConfig{URLs: []string{base}, Instance: "127.0.0.1:3131", GeneratorURL: "http://127.0.0.1:3131/"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { am.Run(ctx) })
	defer wg.Wait()
	defer cancel()
	e := NewEngine(Config{For: 300 * time.Millisecond}, am, nil)
	firing := func() map[Rule]bool {
		out := map[Rule]bool{}
		for _, a := range e.Alerts(time.Now()) {
			if a.State == Firing {
				out[a.Rule] = true
			}
		}
		return out
	}

	probe()
	e.Evaluate(time.Now(), pool.Snapshot())
	down.Store(true)
	for deadline := time.Now().Add(20 * time.Second); ; {
		probe()
		e.Evaluate(time.Now(), pool.Snapshot())
		if f := firing(); f[UpstreamDown] && f[ErrorRateHigh] && f[AllUpstreamsDown] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("firing after 20s: %v", firing())
		}
		time.Sleep(100 * time.Millisecond)
	}

	want := map[string]string{"upstream_down": "P1", "error_rate_high": "P1", "all_upstreams_down": "P0"}
	var got []gettableAlert
	for deadline := time.Now().Add(20 * time.Second); ; {
		got = amAlerts(t, base)
		n := 0
		for _, a := range got {
			if w, ok := want[a.Labels["alertname"]]; ok && a.Status.State == "active" && a.Labels["severity"] == w {
				n++
			}
		}
		if n == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager holds %+v, want %v active", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, a := range got {
		if a.Labels["instance"] != "127.0.0.1:3131" {
			t.Errorf("%s: instance %q", a.Labels["alertname"], a.Labels["instance"])
		}
		wantUp := ups[0].Name
		if a.Labels["alertname"] == "all_upstreams_down" {
			wantUp = ""
		}
		if a.Labels["upstream"] != wantUp {
			t.Errorf("%s: upstream %q, want %q", a.Labels["alertname"], a.Labels["upstream"], wantUp)
		}
		if !a.EndsAt.After(time.Now()) {
			t.Errorf("%s: firing, but endsAt %v is past", a.Labels["alertname"], a.EndsAt)
		}
	}
	t.Logf("alertmanager holds, while the mirror is down: %+v", got)

	down.Store(false)
	for deadline := time.Now().Add(20 * time.Second); ; {
		probe()
		e.Evaluate(time.Now(), pool.Snapshot())
		if len(firing()) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still firing 20s after the mirror healed: %v", firing())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		got = amAlerts(t, base)
		active := 0
		for _, a := range got {
			if a.Status.State == "active" && a.EndsAt.After(time.Now()) {
				active++
			}
		}
		if active == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager still holds active alerts 20s after they resolved: %+v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("alertmanager holds, once the mirror healed: %+v", got)
}
