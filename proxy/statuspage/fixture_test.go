package statuspage

import (
	"math"
	"time"
)

// The upstreams of sampleReport.
const (
	mirrorA = "https://mirror-a.example.com"
	mirrorB = "https://mirror-b.example.com"
	mirrorC = "https://proxy.corp.example.net/go"
)

// sampleNow is when sampleReport was generated.
func sampleNow() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC) }

// sampleReport is a fixed report: mirror A healthy and preferred, mirror B
// open after an outage (with gaps in its history), mirror C degraded; one
// alert firing, one pending, one resolved.
func sampleReport() Report {
	now := sampleNow()
	return Report{
		GeneratedAt:  now,
		Version:      "v1.4.0",
		StartedAt:    now.Add(-27*time.Hour - 12*time.Minute),
		Verification: Verification{Enabled: true, Database: "sum.example.org"},
		Upstreams: []Upstream{
			{
				Name: mirrorA, Preferred: true, Health: Health{
					State:       "healthy",
					Since:       now.Add(-3 * time.Hour),
					Samples:     420,
					P50:         0.062,
					P95:         0.141,
					P99:         0.298,
					ErrorRate:   0.004,
					LastError:   "GET /golang.org/x/text/@v/list: timeout awaiting response headers",
					LastErrorAt: now.Add(-20 * time.Minute),
				}, Score: 0.081, TrafficShare: 0.86, Requests: 12044, Failures: 31,
			},
			{
				Name: mirrorB, Health: Health{
					State:               "open",
					Since:               now.Add(-12 * time.Minute),
					EpisodeSince:        now.Add(-13 * time.Minute),
					Until:               now.Add(3 * time.Minute),
					Samples:             57,
					P50:                 0.9,
					P95:                 2.8,
					P99:                 4.1,
					ErrorRate:           0.62,
					ConsecutiveFailures: 9,
					LastError:           "GET /github.com/example/lib/@v/v1.2.3.zip: 503 Service Unavailable\nretry later",
					LastErrorAt:         now.Add(-40 * time.Second),
				}, Score: 2.4, TrafficShare: 0.02, Requests: 3310, Failures: 402,
			},
			{
				Name: mirrorC, Health: Health{
					State:       "degraded",
					Since:       now.Add(-47 * time.Minute),
					Samples:     130,
					P50:         0.18,
					P95:         0.52,
					P99:         0.95,
					ErrorRate:   0.05,
					LastError:   "dial tcp 10.0.0.7:443: connection refused",
					LastErrorAt: now.Add(-5 * time.Minute),
				}, Why: "stale: answered 404 for /golang.org/x/text/@v/v0.20.0.info, which https://mirror-a.example.com serves",
				Score: 0.31, TrafficShare: 0.12, Requests: 1409, Failures: 70,
			},
		},
		Ranges: []Range{
			sampleRange("last hour", now, time.Hour, time.Minute),
			sampleRange("last day", now, 24*time.Hour, 5*time.Minute),
		},
		Alerts: []Alert{
			{Rule: "upstream_latency_p95", Upstream: mirrorC, Severity: "P2", State: "resolved",
				Since: now.Add(-90 * time.Minute), FiredAt: now.Add(-85 * time.Minute), ResolvedAt: now.Add(-50 * time.Minute),
				Value: 0.4, Threshold: 1.0, Unit: "seconds", Summary: "p95 time to first byte back under 1 s"},
			{Rule: "upstream_error_rate", Upstream: mirrorB, Severity: "P1", State: "firing",
				Since: now.Add(-14 * time.Minute), FiredAt: now.Add(-12 * time.Minute),
				Value: 0.62, Threshold: 0.2, Unit: "ratio", Summary: "mirror-b fails most requests; traffic moved to the other mirrors"},
			{Rule: "upstream_error_rate", Upstream: mirrorC, Severity: "P2", State: "pending",
				Since: now.Add(-3 * time.Minute), Value: 0.05, Threshold: 0.05, Unit: "ratio", Summary: "mirror C errors rising"},
		},
		Cache: CacheStats{Entries: 18234, Bytes: 1288490188, Hits: 90210, Misses: 7711, Stale: 12, HitRatio: 0.92,
			CorruptBlobs: 2, LastScrubAt: now.Add(-3 * time.Hour)},
		Clients: &ClientStats{Requests: 97933, Failed: 0},
	}
}

// sampleRange makes a range of length span ending at now, with a point per
// step for each upstream of sampleReport. Mirror B has no data for a stretch
// in the middle, slows down and fails near the end, and is down for the
// last tenth (no latency, every request failing, open or half-open);
// mirror C is slower and degraded.
func sampleRange(name string, now time.Time, span, step time.Duration) Range {
	rg := Range{Name: name, From: now.Add(-span), To: now, Step: step.Seconds()}
	n := int(span / step)
	for _, up := range []string{mirrorA, mirrorB, mirrorC} {
		s := Series{Upstream: up}
		for i := 1; i <= n; i++ {
			f := float64(i) / float64(n) // 0 to 1 over the range
			wave := 1 + 0.25*math.Sin(float64(i)/3) + 0.1*math.Cos(float64(i)*1.7)
			p := Point{T: rg.From.Add(time.Duration(i) * step), State: "healthy"}
			switch up {
			case mirrorA:
				p.P50, p.P95, p.P99 = 0.06*wave, 0.14*wave, 0.3*wave
				p.ErrorRate = 0.004 * (1 + math.Sin(float64(i)))
				p.TrafficShare = 0.6
			case mirrorB:
				p.P50, p.P95, p.P99 = 0.08*wave, 0.2*wave, 0.4*wave
				p.ErrorRate = 0.01
				p.TrafficShare = 0.3
				if f > 0.35 && f < 0.48 {
					p = Point{T: p.T, Missing: true}
				}
				if f > 0.8 {
					p.P50, p.P95, p.P99 = 0.9*wave, 2.6*wave, 3.9*wave
					p.ErrorRate = 0.62 * wave
					p.TrafficShare = 0.02
					p.State = "degraded"
				}
				if f > 0.9 {
					p.P50, p.P95, p.P99, p.LatencyMissing = 0, 0, 0, true
					p.ErrorRate, p.TrafficShare = 1, 0
					p.State = []string{"open", "half-open"}[i%2]
				}
			case mirrorC:
				p.State = "degraded"
				p.P50, p.P95, p.P99 = 0.18*wave, 0.5*wave, 0.9*wave
				p.ErrorRate = 0.03 + 0.02*math.Sin(float64(i)/5)
				p.TrafficShare = 0.1
			}
			s.Points = append(s.Points, p)
		}
		rg.Series = append(rg.Series, s)
	}
	// Traffic moves to A when B fails.
	for i := range rg.Series[0].Points {
		b := rg.Series[1].Points[i]
		if b.Missing || b.TrafficShare < 0.1 {
			rg.Series[0].Points[i].TrafficShare = 0.88
		}
	}
	return rg
}
