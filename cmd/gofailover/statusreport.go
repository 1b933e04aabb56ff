package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/health/alert"
	"github.com/gofailover/gofailover/health/history"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/metrics"
	"github.com/gofailover/gofailover/proxy/statuspage"
)

// statusSource builds the status page's Report from the server's parts.
type statusSource struct {
	pools   pools
	history *history.History
	alerts  *alert.Engine
	store   interface{ Stats() cache.Stats }
	handler interface{ Stats() proxy.Stats }
	sumDB   string // the checksum database's name; empty when off
	started time.Time
	window  time.Duration // the health window, for traffic shares
	now     func() time.Time
	version string
	// shared is the shared store's tier; nil when there is none.
	shared metrics.SharedStore
}

// plotSpan is a time range the page plots, ending now.
type plotSpan struct {
	name string
	span time.Duration
}

// plotSpans are the time ranges the page plots.
func plotSpans() []plotSpan {
	return []plotSpan{{"last hour", time.Hour}, {"last day", 24 * time.Hour}}
}

// Report returns the status at this instant.
func (s *statusSource) Report(context.Context) (statuspage.Report, error) {
	now := s.now()
	hst := s.handler.Stats()
	requests := hst.Requests
	r := statuspage.Report{
		GeneratedAt:  now,
		Version:      s.version,
		StartedAt:    s.started,
		Verification: statuspage.Verification{Enabled: s.sumDB != "", Database: s.sumDB},
		Cache:        s.cacheStats(requests, hst.Prefetch),
		Clients:      clientStats(requests),
	}
	shares := s.history.TrafficShare(now.Add(-s.window), now)
	var names []string
	snap := s.pools.Snapshot()
	for _, st := range snap {
		row := upstreamRow(st, shares[st.Upstream.Name])
		row.Private = s.pools.isPrivate(st.Upstream)
		r.Upstreams = append(r.Upstreams, row)
		names = append(names, st.Upstream.Name)
	}
	for _, pr := range plotSpans() {
		r.Ranges = append(r.Ranges, s.plotRange(pr.name, names, now.Add(-pr.span), now))
	}
	var shared *health.Status
	if s.shared != nil {
		st := s.shared.Stats()
		r.SharedStore = sharedStoreRow(s.shared.Name(), st)
		shared = &st.Health
	}
	for _, a := range s.alerts.Alerts(now) {
		r.Alerts = append(r.Alerts, episodeAlert(alertRow(a), a, snap, shared))
	}
	return r, nil
}

// upstreamRow is the page's row for one upstream.
func upstreamRow(st health.Status, share float64) statuspage.Upstream {
	return statuspage.Upstream{
		Name:          st.Upstream.Name,
		Preferred:     st.Upstream.Rank == 0,
		Health:        pageHealth(st),
		Score:         st.Score.Seconds(),
		Why:           why(st),
		TrafficShare:  share,
		Requests:      st.Requests,
		Failures:      st.Failures,
		Probes:        st.Probes,
		ProbeFailures: st.ProbeFailures,
	}
}

// pageHealth is st as the status page shows it, for an upstream or the
// shared store: durations in seconds, the last error as text.
func pageHealth(st health.Status) statuspage.Health {
	h := statuspage.Health{
		State:               string(st.State),
		Since:               st.Since,
		EpisodeSince:        st.EpisodeSince,
		Until:               st.Until,
		Samples:             st.Samples,
		P50:                 st.P50.Seconds(),
		P95:                 st.P95.Seconds(),
		P99:                 st.P99.Seconds(),
		ErrorRate:           st.ErrorRate,
		ConsecutiveFailures: st.ConsecutiveFailures,
		LastErrorAt:         st.LastErrorAt,
	}
	if st.LastError != nil {
		h.LastError = st.LastError.Error()
	}
	return h
}

// why says what, besides failures, ranks an upstream behind: a stale list
// of the probe module, or a "not found" for what another upstream serves.
func why(st health.Status) string {
	var parts []string
	if d := st.Denial; d != nil {
		parts = append(parts, fmt.Sprintf("%s: answered %d for %s, which %s serves", d.Reason(), d.Status, d.Path, d.ServedBy))
	}
	if len(st.Stale) > 0 {
		parts = append(parts, "stale: its list of the probe module lacks "+strings.Join(st.Stale, ", "))
	}
	return strings.Join(parts, "; ")
}

// plotRange is one plotted range from the history, with a series for
// each of the named upstreams.
func (s *statusSource) plotRange(name string, upstreams []string, since, now time.Time) statuspage.Range {
	pr := statuspage.Range{Name: name, From: since, To: now}
	traffic := s.history.Traffic(since, now)
	trafficAt := make(map[int64]history.TrafficPoint, len(traffic))
	for _, tp := range traffic {
		trafficAt[tp.At.UnixNano()] = tp
	}
	for _, name := range upstreams {
		series := statuspage.Series{Upstream: name}
		points := s.history.Series(name, since, now)
		for i, p := range points {
			if i == 1 {
				pr.Step = p.At.Sub(points[0].At).Seconds()
			}
			series.Points = append(series.Points, plotPoint(p, name, trafficAt[p.At.UnixNano()]))
		}
		pr.Series = append(pr.Series, series)
	}
	return pr
}

// plotPoint is the page's point of history point p of the upstream
// named name, with tp the traffic of p's interval. What is not known is
// marked so, never shown as 0: the latency when nothing answered, the
// error rate when nothing was tried, the traffic share when no upstream
// got a request. When the pool's window was empty (the breaker had just
// let the upstream try again) but probes or requests were tried in the
// interval, the error rate is the share of them that failed.
func plotPoint(p history.Point, name string, tp history.TrafficPoint) statuspage.Point {
	pt := statuspage.Point{
		T:              p.At,
		P50:            p.P50.Seconds(),
		P95:            p.P95.Seconds(),
		P99:            p.P99.Seconds(),
		LatencyMissing: !p.HasLatency,
		ErrorRate:      p.ErrorRate,
		TrafficShare:   tp.Share[name],
		TrafficMissing: tp.Total == 0,
		State:          string(p.State),
		Missing:        p.Empty,
	}
	if !p.HasErrorRate {
		if tried := p.Requests + p.Probes; tried > 0 {
			pt.ErrorRate = float64(p.Failures+p.ProbeFailures) / float64(tried)
		} else {
			pt.ErrorRateMissing = true
		}
	}
	if p.Empty {
		pt.LatencyMissing, pt.ErrorRateMissing, pt.TrafficMissing = true, true, true
	}
	return pt
}

// alertRow is the page's row for one alert.
func alertRow(a alert.Alert) statuspage.Alert {
	row := statuspage.Alert{
		Rule:       string(a.Rule),
		Upstream:   a.Upstream,
		Severity:   string(a.Severity),
		State:      string(a.State),
		Since:      a.ActiveAt,
		FiredAt:    a.FiredAt,
		ResolvedAt: a.ResolvedAt,
		Value:      a.Value,
		Threshold:  a.Threshold,
		Summary:    a.Summary,
	}
	switch a.Rule {
	case alert.LatencyHigh:
		row.Unit = "seconds"
	case alert.ErrorRateHigh:
		row.Unit = "ratio"
	}
	return row
}

// episodeAlert dates row, the page's row for a, from the outage it is
// about, so that the alert and the upstreams' episodes agree: an active
// upstream_down began at the first failure of its upstream's outage
// (health.Status.EpisodeSince), an active shared_store_down at the first
// failure of the store's, and an active all_upstreams_down when the last
// of the upstreams went down. Other alerts, and alerts whose outage the
// snapshot does not show, are left as they are. snap is the upstreams'
// health, shared the shared store's (nil without one).
func episodeAlert(row statuspage.Alert, a alert.Alert, snap []health.Status, shared *health.Status) statuspage.Alert {
	if a.State != alert.Pending && a.State != alert.Firing {
		return row
	}
	var since time.Time
	switch a.Rule {
	case alert.SharedStoreDown:
		if shared != nil && shared.Upstream != nil && shared.Upstream.Name == a.Upstream && shared.State.Down() {
			since = shared.EpisodeSince
		}
	case alert.UpstreamDown:
		for _, st := range snap {
			if st.Upstream.Name == a.Upstream && st.State.Down() {
				since = st.EpisodeSince
			}
		}
	case alert.AllUpstreamsDown:
		for _, st := range snap {
			if !st.State.Down() {
				return row
			}
			if st.EpisodeSince.After(since) {
				since = st.EpisodeSince
			}
		}
	}
	if !since.IsZero() && since.Before(row.Since) {
		row.Since = since
	}
	return row
}

// cacheStats is the cache's size, how often it answered requests, and
// what its checks found.
func (s *statusSource) cacheStats(requests []proxy.RequestCount, prefetch proxy.PrefetchStats) statuspage.CacheStats {
	st := s.store.Stats()
	cs := statuspage.CacheStats{Entries: st.Entries, Bytes: st.Bytes,
		CorruptBlobs: st.CorruptBlobs, LastScrubAt: st.LastScrubAt, SetAside: st.SetAside}
	cs.ReadOnly, cs.FreeBytes, cs.ReserveBytes = st.ReadOnly, st.FreeBytes, st.ReserveBytes
	for _, c := range requests {
		switch c.Cache {
		case "hit":
			cs.Hits += c.Count
		case "miss":
			cs.Misses += c.Count
		case "stale":
			cs.Stale += c.Count
		}
	}
	if total := cs.Hits + cs.Misses + cs.Stale; total > 0 {
		cs.HitRatio = float64(cs.Hits) / float64(total)
	}
	cs.Prefetched, cs.PrefetchHits, cs.PrefetchWasted = prefetch.Fetched, prefetch.Hits, prefetch.Wasted
	if prefetch.Fetched > 0 {
		cs.PrefetchHitRatio = float64(prefetch.Hits) / float64(prefetch.Fetched)
	}
	return cs
}

// clientStats counts the answers given to requests, and the 5xx among
// them.
func clientStats(requests []proxy.RequestCount) *statuspage.ClientStats {
	var cs statuspage.ClientStats
	for _, c := range requests {
		cs.Requests += c.Count
		if c.Class == "5xx" {
			cs.Failed += c.Count
		}
	}
	return &cs
}
