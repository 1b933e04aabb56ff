package proxy_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// TestDebugLogsExplain: at debug, every upstream attempt and every cache
// decision is one line saying what happened.
func TestDebugLogsExplain(t *testing.T) {
	mods := mirrortest.TestdataModules(t)
	bad, good := mirrortest.NewMirror(nil, mods...), mirrortest.NewMirror(nil, mods...)
	t.Cleanup(bad.Close)
	t.Cleanup(good.Close)
	bad.SetFault(mirrortest.Status(http.StatusServiceUnavailable))
	var out mirrortest.SyncBuffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, _, _ := serveHandler(t, proxy.Config{Logger: log}, bad.URL(), good.URL())
	const info = "/example.com/lib/@v/v1.1.0.info"
	for range 2 {
		if resp, body := do(t, http.MethodGet, srv.URL+info); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", resp.Status, body)
		}
	}
	logs := out.String()
	for _, want := range []string{
		`msg=cache decision=miss kind=info key=` + info + ` why="not cached"`,
		`msg="upstream attempt" upstream=` + bad.URL() + ` kind=info key=` + info + ` status=503`,
		`outcome=5xx hedge=false`,
		`msg="upstream attempt" upstream=` + good.URL() + ` kind=info key=` + info + ` status=200`,
		`outcome=answer hedge=false`,
		`msg=cache decision=hit kind=info key=` + info,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("debug logs lack %q", want)
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s", logs)
	}
}
