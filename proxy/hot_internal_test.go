package proxy

import (
	"net/http"
	"testing"
	"time"
)

// TestHTTPTime: remembered or not, httpTime is http.TimeFormat's form,
// for times sharing a slot too.
func TestHTTPTime(t *testing.T) {
	var hp hitPath
	base := time.Date(2024, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	for _, d := range []time.Duration{0, 0, 256 * time.Second, 0, time.Second, 500 * time.Millisecond} {
		tt := base.Add(d)
		if got, want := hp.httpTime(tt), tt.UTC().Format(http.TimeFormat); got != want {
			t.Errorf("httpTime(%v) = %q, want %q", tt, got, want)
		}
	}
}
