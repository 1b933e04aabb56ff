package metrics_test

import (
	"testing"

	"github.com/gofailover/gofailover/proxy/clientlimit"
	"github.com/gofailover/gofailover/proxy/metrics"
)

// fixedConns reports fixed connection counts.
type fixedConns clientlimit.Stats

func (f fixedConns) Stats() clientlimit.Stats { return clientlimit.Stats(f) }

func TestConnectionMetrics(t *testing.T) {
	reg := metrics.NewRegistry(metrics.Sources{Connections: fixedConns{
		Open: 7, Max: 1472, Accepted: 100, Refused: 3, AcceptErrors: 2,
		Closed: clientlimit.Closed{Evicted: 11, HeaderTimeout: 5, WriteTimeout: 4, BodyTimeout: 1},
	}})
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"gofailover_connections_open", nil, 7},
		{"gofailover_connections_max", nil, 1472},
		{"gofailover_connections_accepted_total", nil, 100},
		{"gofailover_connections_refused_total", nil, 3},
		{"gofailover_accept_errors_total", nil, 2},
		{"gofailover_connections_closed_total", map[string]string{"reason": "evicted"}, 11},
		{"gofailover_connections_closed_total", map[string]string{"reason": "header_timeout"}, 5},
		{"gofailover_connections_closed_total", map[string]string{"reason": "write_timeout"}, 4},
		{"gofailover_connections_closed_total", map[string]string{"reason": "body_timeout"}, 1},
		{"gofailover_connections_closed_total", map[string]string{"reason": "idle_timeout"}, 0},
		{"gofailover_connections_closed_total", map[string]string{"reason": "body_too_large"}, 0},
	} {
		got, ok := value(t, reg, tt.name, tt.labels)
		if !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
}
