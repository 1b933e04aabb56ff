package cache

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestBadgerLogLevel: Badger's routine lines are dropped unless asked for,
// warnings pass, and the store's component is not repeated.
func TestBadgerLogLevel(t *testing.T) {
	for _, tc := range []struct {
		opts      Options
		wantDebug bool
	}{
		{Options{}, false},
		{Options{BadgerLogLevel: slog.LevelDebug}, true},
	} {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("component", "cache")
		l := badgerLogger{log: log, min: badgerLogLevel(tc.opts)}
		l.Infof("routine chatter %d", 1)
		l.Warningf("something odd")
		out := buf.String()
		if got := strings.Contains(out, "routine chatter"); got != tc.wantDebug {
			t.Errorf("level %v: routine line logged %v, want %v:\n%s", badgerLogLevel(tc.opts), got, tc.wantDebug, out)
		}
		if !strings.Contains(out, "something odd") || !strings.Contains(out, "subsystem=badger") {
			t.Errorf("warning not passed on with subsystem=badger:\n%s", out)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.Count(line, "component=") != 1 {
				t.Errorf("component not exactly once: %s", line)
			}
		}
	}
}
