package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// TestGoCommandThroughFaultyFirstUpstream drives the real go command
// through gofailover while its preferred upstream misbehaves in each way a
// mirror can, the second being healthy: every download succeeds, verified.
func TestGoCommandThroughFaultyFirstUpstream(t *testing.T) {
	// Replaced by each subtest's own loopback service.
	const victimURL = "http://127.0.0.1:1"
	faults := []struct {
		name  string
		fault mirrortest.Fault
		dead  bool
	}{
		{"healthy", mirrortest.Healthy(), false},
		{"dead", mirrortest.Healthy(), true},
		{"blackhole", mirrortest.Blackhole(), false},
		{"slow", mirrortest.Slow(300 * time.Millisecond), false},
		{"flaky", mirrortest.Status(503).Times(6), false},
		{"rate-limited", mirrortest.RateLimited(time.Minute), false},
		{"reset mid-body", mirrortest.ResetMidBody().OnSuffix(".zip"), false},
		{"truncated", mirrortest.Truncate().OnSuffix(".zip"), false},
		{"stale list", mirrortest.StaleList(), false},
		{"captive portal", mirrortest.HTML(), false},
		{"html lists", mirrortest.HTML().OnSuffix("/@v/list"), false},
		{"trickling", mirrortest.Trickle(20), false},
		{"redirect to loopback", mirrortest.Redirect(victimURL), false},
		{"redirect same origin", mirrortest.RedirectSameOrigin(), false},
		{"info names another version", mirrortest.WrongVersionInfo("v9.9.9"), false},
		{"refuses lookups", mirrortest.Status(http.StatusBadRequest).OnPrefix("/sumdb/"), false},
		{"forbids everything", mirrortest.Status(http.StatusForbidden), false},
	}
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mods, db := fixtures(t)
			bad := mirrortest.NewMirror(db, mods...)
			good := mirrortest.NewMirror(db, mods...)
			defer bad.Close()
			defer good.Close()
			if tt.fault.Kind == mirrortest.KindRedirect {
				// A service on the proxy's own machine, which must
				// never be asked anything.
				victim := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					t.Errorf("the loopback service behind a redirect was asked for %s", r.URL)
				}))
				defer victim.Close()
				tt.fault = mirrortest.Redirect(victim.URL)
			}
			bad.SetFault(tt.fault)
			if tt.dead {
				bad.Close()
			}
			url := startServer(t, t.TempDir(), db, []string{bad.URL(), good.URL()},
				"GOFAILOVER_FIRST_BYTE_TIMEOUT=10s", "GOFAILOVER_HEDGE_CEILING=200ms", "GOFAILOVER_IDLE_TIMEOUT=2s")
			goDownloadAndGet(t, url, db, mods)
		})
	}
}

// TestStalePreferredMirrorLosesListTraffic: the preferred mirror's lists
// lack each module's newest version. The probes compare its list of the
// probe module with the other mirror's, find it stale, and move traffic
// away, so that the go command's @latest resolves the newest version.
func TestStalePreferredMirrorLosesListTraffic(t *testing.T) {
	mods, db := fixtures(t)
	stale := mirrortest.NewMirror(db, mods...)
	fresh := mirrortest.NewMirror(db, mods...)
	defer stale.Close()
	defer fresh.Close()
	stale.SetFault(mirrortest.StaleList())
	url := startServer(t, t.TempDir(), db, []string{stale.URL(), fresh.URL()},
		"GOFAILOVER_PROBE_MODULE=example.com/lib@v1.0.0", "GOFAILOVER_PROBE_INTERVAL=100ms",
		"GOFAILOVER_MUTABLE_TTL=50ms")

	// Detection takes two or three probe rounds; allow many more.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, list := httpGet(t, url+"/example.com/lib/@v/list")
		if strings.Contains(string(list), "v1.1.0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s (100 probe intervals) after start, the list still comes from the stale mirror: %q", list)
		}
		time.Sleep(50 * time.Millisecond)
	}

	env := mirrortest.GoEnv(t, url, db)
	dir := mirrortest.ScratchModule(t, "example.com/scratch", nil)
	if out, err := mirrortest.RunGo(t, env, dir, "get", "example.com/lib@latest"); err != nil {
		t.Fatalf("go get: %v\n%s", err, out)
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gomod), "example.com/lib v1.1.0") {
		t.Fatalf("go get @latest did not resolve the newest version:\n%s", gomod)
	}
}
