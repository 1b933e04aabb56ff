package statuspage

import (
	"cmp"
	"fmt"
	"strings"
	"time"
)

// SharedStore is the shared object store that a fleet of replicas uses as
// a second cache tier: its health, as its breaker sees it, and what the
// replica did with it since it started. Report.SharedStore is nil when no
// store is configured.
type SharedStore struct {
	// Name identifies the store, such as its s3:// URL, without
	// credentials.
	Name string `json:"name"`
	// Health is the store's health, as its breaker sees it: its state,
	// the time of its answers and its errors over the health window.
	Health
	// Hits and Misses count reads that found an object or none; Errors
	// counts calls (and body reads) that failed; Bypassed counts calls
	// not made because the store was down.
	Hits     int64 `json:"hits"`
	Misses   int64 `json:"misses"`
	Errors   int64 `json:"errors"`
	Bypassed int64 `json:"bypassed"`
	// Abandoned counts reads given up, or not made, because the store was
	// slower than the mirrors.
	Abandoned int64 `json:"abandoned"`
	// BytesRead and BytesWritten count body bytes read from and uploaded
	// to the store.
	BytesRead    int64 `json:"bytes_read"`
	BytesWritten int64 `json:"bytes_written"`
	// Uploads says what became of the verified answers offered to the
	// store.
	Uploads SharedUploads `json:"uploads"`
	// CorruptObjects counts the store's objects that failed the checks or
	// verification: each was deleted, never served.
	CorruptObjects int64 `json:"corrupt_objects"`
}

// SharedUploads counts the uploads to the shared store since the server
// started, and those waiting now.
type SharedUploads struct {
	// Uploaded counts answers uploaded; Present those found already
	// stored (by another replica, or earlier); Failed those given up
	// after their retries; Dropped those refused by a full queue.
	Uploaded int64 `json:"uploaded"`
	Present  int64 `json:"present"`
	Failed   int64 `json:"failed"`
	Dropped  int64 `json:"dropped"`
	// Queue is how many uploads wait or run.
	Queue int `json:"queue"`
}

// sanitizedShared returns a copy of s that JSON can encode, or nil.
func sanitizedShared(s *SharedStore) *SharedStore {
	if s == nil {
		return nil
	}
	c := *s
	for _, t := range []*time.Time{&c.Since, &c.EpisodeSince, &c.Until, &c.LastErrorAt} {
		*t = encodable(*t)
	}
	for _, f := range []*float64{&c.P50, &c.P95, &c.P99, &c.ErrorRate} {
		*f = finite(*f)
	}
	return &c
}

// sharedView is the page's Shared store section.
type sharedView struct {
	Name              string
	State, StateClass string
	// Episode says since when the store is up or down, and for how long.
	Episode, EpisodeFull string
	Facts                []fact
}

// sharedLatency is the store's p50 and p95, or a dash when unknown.
func sharedLatency(s *SharedStore) (p50, p95, p99 string) {
	if s.Samples == 0 || s.P99 <= 0 {
		return dash, dash, dash
	}
	return formatSeconds(s.P50), formatSeconds(s.P95), formatSeconds(s.P99)
}

// sharedErrors is the store's error rate over the window, or "100% (last
// N)" while its window is empty after failures, as for an upstream.
func sharedErrors(s *SharedStore) string {
	switch {
	case s.Samples == 0 && s.ConsecutiveFailures > 0:
		return fmt.Sprintf("100%% (last %d)", s.ConsecutiveFailures)
	case s.Samples == 0:
		return dash
	}
	return formatRatio(s.ErrorRate)
}

// sharedEpisode says "up since 11:00:00 (for 1h)" or "down since ...".
func sharedEpisode(s *SharedStore, now time.Time) (short, full string) {
	ep := firstSet(s.EpisodeSince, s.Since)
	word := "up"
	if down(s.State) {
		word = "down"
	}
	if ep.IsZero() {
		return word, word
	}
	return word + " since " + formatClock(ep, now) + " (for " + formatAge(ep, now) + ")",
		word + " since " + formatTime(ep, now.Location())
}

// newSharedView lays out s at now, or returns nil.
func newSharedView(s *SharedStore, now time.Time) *sharedView {
	if s == nil {
		return nil
	}
	state := cmp.Or(s.State, "unknown")
	v := &sharedView{Name: s.Name, State: state, StateClass: stateClass(s.State)}
	v.Episode, v.EpisodeFull = sharedEpisode(s, now)
	if s.State != "" && !s.Since.IsZero() && s.Since.After(firstSet(s.EpisodeSince, s.Since)) {
		v.Episode += "; " + state + " since " + formatClock(s.Since, now)
	}
	if !s.Until.IsZero() {
		v.Episode += "; next try " + formatClock(s.Until, now)
	}
	p50, p95, p99 := sharedLatency(s)
	lastErr := "none"
	if s.LastError != "" {
		lastErr = oneLine(s.LastError, 120) + " (" + formatClock(s.LastErrorAt, now) + ", " + formatAge(s.LastErrorAt, now) + " ago)"
	}
	u := s.Uploads
	v.Facts = []fact{
		{"Latency p50 / p95 / p99", p50 + " / " + p95 + " / " + p99},
		{"Error rate", sharedErrors(s)},
		{"Last error", lastErr},
		{"Hits / misses", count(s.Hits) + " / " + count(s.Misses)},
		{"Errors / bypassed", count(s.Errors) + " / " + count(s.Bypassed) + " (not asked while down)"},
		{"Abandoned", count(s.Abandoned) + " (slower than the mirrors)"},
		{"Read / written", formatBytes(max(s.BytesRead, 0)) + " / " + formatBytes(max(s.BytesWritten, 0))},
		{"Uploads", count(u.Uploaded) + " uploaded, " + count(u.Present) + " already present, " + count(u.Failed) + " failed, " + count(u.Dropped) + " dropped"},
		{"Upload queue", count(int64(u.Queue))},
		{"Corrupt objects", count(s.CorruptObjects) + " (deleted, never served)"},
	}
	return v
}

// count formats a count that should not be negative.
func count(n int64) string { return formatCount(uint64(max(n, 0))) }

// sharedVerdict adds a shared store that is down, or degraded, to the
// verdict: a warning, since each replica goes on alone.
func sharedVerdict(r Report, v *verdictView) {
	s := r.SharedStore
	if s == nil || !troubled(s.State) {
		return
	}
	if v.Class == "ok" {
		v.Class = "warn"
	}
	d := "shared store " + s.Name + " " + cmp.Or(s.State, "unknown")
	switch ep := firstSet(s.EpisodeSince, s.Since); {
	case ep.IsZero():
	case down(s.State):
		d += ", down for " + formatAge(ep, r.GeneratedAt) + ": this replica goes on alone, from its cache and the upstreams"
	default:
		d += " for " + formatAge(s.Since, r.GeneratedAt)
	}
	v.Details = append(v.Details, d)
}

// sharedText is the text report's lines about the shared store, or
// nothing without one.
func sharedText(s *SharedStore, now time.Time) string {
	if s == nil {
		return ""
	}
	episode, _ := sharedEpisode(s, now)
	p50, p95, _ := sharedLatency(s)
	u := s.Uploads
	var b strings.Builder
	fmt.Fprintf(&b, "Shared store: %s %s, %s; p50 %s, p95 %s, errors %s; %s hits, %s misses, %s bypassed, %s read; uploads: %s uploaded, %s present, %s failed, %s dropped, %s queued; %s corrupt objects\n",
		termSafe(s.Name), termSafe(cmp.Or(s.State, "unknown")), episode, p50, p95, sharedErrors(s),
		count(s.Hits), count(s.Misses), count(s.Bypassed), formatBytes(max(s.BytesRead, 0)),
		count(u.Uploaded), count(u.Present), count(u.Failed), count(u.Dropped), count(int64(u.Queue)), count(s.CorruptObjects))
	if s.LastError != "" {
		fmt.Fprintf(&b, "Shared store: last error %s %s\n", formatClock(s.LastErrorAt, now), termSafe(oneLine(s.LastError, 100)))
	}
	return b.String()
}
