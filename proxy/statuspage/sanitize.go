package statuspage

import (
	"math"
	"slices"
	"time"
)

// sanitized returns a copy of r that JSON can encode and the page can draw:
// every NaN or infinite number becomes 0, and a Point holding one is marked
// Missing; a time JSON cannot hold is moved to UTC, or made zero. r itself,
// which may share memory with its Source, is not changed.
func sanitized(r Report) Report {
	for _, t := range []*time.Time{&r.GeneratedAt, &r.StartedAt} {
		*t = encodable(*t)
	}
	r.Upstreams = slices.Clone(r.Upstreams)
	for i := range r.Upstreams {
		u := &r.Upstreams[i]
		for _, t := range []*time.Time{&u.Since, &u.EpisodeSince, &u.Until, &u.LastErrorAt} {
			*t = encodable(*t)
		}
		for _, f := range []*float64{&u.Score, &u.P50, &u.P95, &u.P99, &u.ErrorRate, &u.TrafficShare} {
			*f = finite(*f)
		}
	}
	r.Ranges = slices.Clone(r.Ranges)
	for i := range r.Ranges {
		rg := &r.Ranges[i]
		rg.Step = finite(rg.Step)
		rg.From, rg.To = encodable(rg.From), encodable(rg.To)
		rg.Series = slices.Clone(rg.Series)
		for j := range rg.Series {
			s := &rg.Series[j]
			s.Points = slices.Clone(s.Points)
			for k := range s.Points {
				p := &s.Points[k]
				p.T = encodable(p.T)
				for _, f := range []*float64{&p.P50, &p.P95, &p.P99, &p.ErrorRate, &p.TrafficShare} {
					if !isFinite(*f) {
						*f, p.Missing = 0, true
					}
				}
			}
		}
	}
	r.Alerts = slices.Clone(r.Alerts)
	for i := range r.Alerts {
		a := &r.Alerts[i]
		a.Value, a.Threshold = finite(a.Value), finite(a.Threshold)
		for _, t := range []*time.Time{&a.Since, &a.FiredAt, &a.ResolvedAt} {
			*t = encodable(*t)
		}
	}
	r.Cache.HitRatio = finite(r.Cache.HitRatio)
	r.Cache.PrefetchHitRatio = finite(r.Cache.PrefetchHitRatio)
	if r.Clients != nil {
		c := *r.Clients
		r.Clients = &c
	}
	r.SharedStore = sanitizedShared(r.SharedStore)
	return r
}

// isFinite reports whether x is neither NaN nor infinite.
func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// finite returns x, or 0 when x is NaN or infinite.
func finite(x float64) float64 {
	if isFinite(x) {
		return x
	}
	return 0
}

// encodable returns t if RFC 3339 can write it; otherwise t in UTC if that
// can be written (the zone's offset was a day or more), or the zero time
// (the year is outside 0 to 9999).
func encodable(t time.Time) time.Time {
	if _, err := t.MarshalText(); err == nil {
		return t
	}
	if u := t.UTC(); u.Year() >= 0 && u.Year() <= 9999 {
		return u
	}
	return time.Time{}
}
