package statuspage

import (
	"cmp"
	"fmt"
	"html"
	"html/template"
	"slices"
	"strings"
	"time"
)

// This file turns a Report into pageView, the ready-made strings that the
// page's template lays out.

// pageView is what the page template shows.
type pageView struct {
	Version      string
	Generated    string
	GeneratedISO string
	Started      string
	Uptime       string
	Zone         string
	Verification string
	Verified     bool
	Verdict      verdictView
	Cards        []cardView
	Upstreams    []upstreamRow
	Legend       []legendEntry
	Strips       []stripView
	Metrics      []metricView
	Alerts       []alertRow
	Cache        []fact
	Server       []fact
	// Shared is the Shared store section; nil without a shared store.
	Shared *sharedView
}

// verdictView is the page's one-sentence answer: is anything wrong?
type verdictView struct {
	Class    string // ok, warn or bad
	Headline string
	Details  []string
}

// cardView is one headline number.
type cardView struct {
	Label, Value, Detail, Class string
}

// upstreamRow is one row of the upstream table.
type upstreamRow struct {
	Name, Color           string
	Preferred             bool
	Private               bool
	State, StateClass     string
	Why                   string
	Since, SinceFull, For string
	// Episode is "down" or "up", EpisodeSince when the episode began
	// (EpisodeFull in full, EpisodeFor how long ago); StateSince says
	// when the State began, when that was later than the episode.
	Episode, EpisodeSince     string
	EpisodeFull, EpisodeFor   string
	StateSince                string
	Until                     string
	Score, P50, P95, P99      string
	ErrorRate, ErrorClass     string
	Failures                  string
	LastError, LastErrorFull  string
	LastErrorAt, LastErrorAgo string
	Traffic                   string
}

// legendEntry is one key of the plots' legend.
type legendEntry struct {
	Label, Color, Dash string
}

// metricView is one measure plotted over every range.
type metricView struct {
	ID, Title, Note string
	// Key explains the line styles, when they differ.
	Key   []legendEntry
	Plots []plotView
}

// plotView is one plot with its caption.
type plotView struct {
	Caption string
	SVG     template.HTML
}

// alertRow is one row of the alert table.
type alertRow struct {
	Severity, SeverityClass string
	Rule, Upstream          string
	State, StateClass       string
	When, WhenFull          string
	Value, Threshold        string
	Summary                 string
}

// fact is one labelled value in a definition list.
type fact struct {
	Label, Value string
}

// palette colours the upstreams, in order: the Okabe–Ito colours, which
// stay apart for colour-blind readers, without the yellow that white
// washes out.
func palette(i int) string {
	colors := [...]string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#6B7280", "#332288"}
	return colors[i%len(colors)]
}

// stateClass is the CSS class of an upstream state.
func stateClass(state string) string {
	switch state {
	case "healthy", "degraded", "open", "half-open", "quarantined":
		return "st-" + state
	}
	return "st-unknown"
}

// troubled reports whether an upstream in state is not fully usable.
func troubled(state string) bool { return state != "healthy" }

// down reports whether an upstream in state is out of use: open,
// half-open or quarantined (see health.State.Down).
func down(state string) bool {
	return state == "open" || state == "half-open" || state == "quarantined"
}

// episodeStart is when u's current episode began: EpisodeSince, or Since
// when the report does not say.
func episodeStart(u Upstream) time.Time {
	return firstSet(u.EpisodeSince, u.Since)
}

// usable reports whether requests go to an upstream in state.
func usable(state string) bool { return state == "healthy" || state == "degraded" }

// alertRank orders alerts by state: firing, pending, resolved, others.
func alertRank(state string) int {
	switch state {
	case "firing":
		return 0
	case "pending":
		return 1
	case "resolved":
		return 2
	}
	return 3
}

// newPageView lays out r, which has been sanitized.
func newPageView(r Report) pageView {
	now := r.GeneratedAt
	loc := now.Location()
	colors := upstreamColors(r)
	v := pageView{
		Version:      cmp.Or(r.Version, "unknown"),
		Generated:    formatTime(now, loc),
		GeneratedISO: now.Format(time.RFC3339),
		Started:      formatTime(r.StartedAt, loc),
		Uptime:       formatAge(r.StartedAt, now),
		Zone:         now.Format("MST"),
		Verification: verificationText(r.Verification),
		Verified:     r.Verification.Enabled,
		Verdict:      verdict(r),
		Cards:        cards(r),
	}
	for _, u := range r.Upstreams {
		v.Upstreams = append(v.Upstreams, newUpstreamRow(u, colors[u.Name], now))
	}
	for _, name := range colorOrder(r) {
		v.Legend = append(v.Legend, legendEntry{Label: name, Color: colors[name]})
	}
	v.Strips = strips(r, colors)
	v.Metrics = metrics(r, colors)
	v.Alerts = alertRows(r.Alerts, now)
	v.Cache = []fact{
		{"Entries", formatCount(uint64(max(r.Cache.Entries, 0)))},
		{"Size", formatBytes(max(r.Cache.Bytes, 0))},
		{"Hit ratio", formatRatio(r.Cache.HitRatio)},
		{"Hits / misses / stale", formatCount(r.Cache.Hits) + " / " + formatCount(r.Cache.Misses) + " / " + formatCount(r.Cache.Stale)},
	}
	v.Cache = append(v.Cache, upkeepFacts(r.Cache, now)...)
	v.Cache = append(v.Cache, spaceFacts(r.Cache)...)
	v.Shared = newSharedView(r.SharedStore, now)
	v.Server = []fact{
		{"Version", v.Version},
		{"Started", v.Started},
		{"Uptime", v.Uptime},
		{"Checksum verification", v.Verification},
	}
	return v
}

// upkeepFacts are what the cache's checks found: when the scrub last
// finished a pass and, if any, the corrupt files found and a damaged
// index set aside at start-up.
func upkeepFacts(c CacheStats, now time.Time) []fact {
	last := formatClock(c.LastScrubAt, now)
	if !c.LastScrubAt.IsZero() {
		last += " (" + formatAge(c.LastScrubAt, now) + " ago)"
	}
	facts := []fact{{"Last scrub", last}}
	if c.CorruptBlobs > 0 {
		facts = append(facts, fact{"Corrupt blobs found", formatCount(uint64(c.CorruptBlobs)) + " (removed, never served)"})
	}
	if c.SetAside != "" {
		facts = append(facts, fact{"Damaged index set aside", c.SetAside})
	}
	if c.Prefetched > 0 {
		facts = append(facts, fact{"Prefetch hit rate", formatRatio(c.PrefetchHitRatio) + " (" + formatCount(c.PrefetchHits) +
			" of " + formatCount(c.Prefetched) + " fetched ahead then asked for; " + formatCount(c.PrefetchWasted) + " wasted)"})
	}
	return facts
}

// verificationText says whether verification is on, and against what.
func verificationText(vf Verification) string {
	switch {
	case !vf.Enabled:
		return "off"
	case vf.Database != "":
		return "on (" + vf.Database + ")"
	}
	return "on"
}

// colorOrder lists the upstreams to colour: the report's upstreams in
// order, then any other upstream a series names.
func colorOrder(r Report) []string {
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, u := range r.Upstreams {
		add(u.Name)
	}
	for _, rg := range r.Ranges {
		for _, s := range rg.Series {
			add(s.Upstream)
		}
	}
	return names
}

// upstreamColors gives every upstream its colour, the same in every plot.
func upstreamColors(r Report) map[string]string {
	colors := map[string]string{}
	for i, n := range colorOrder(r) {
		colors[n] = palette(i)
	}
	return colors
}

// verdict sums the report up in one sentence.
func verdict(r Report) verdictView {
	var bad []Upstream
	usableCount := 0
	for _, u := range r.Upstreams {
		if troubled(u.State) {
			bad = append(bad, u)
		}
		if usable(u.State) {
			usableCount++
		}
	}
	firing, p0 := 0, false
	for _, a := range r.Alerts {
		if a.State == "firing" {
			firing++
			p0 = p0 || a.Severity == "P0"
		}
	}
	hurt := r.Clients != nil && r.Clients.Failed > 0
	v := verdictView{Class: "ok"}
	switch n := len(r.Upstreams); {
	case n == 0:
		v.Class, v.Headline = "bad", "No upstreams configured"
	case len(bad) == 0 && firing == 0:
		v.Headline = fmt.Sprintf("All %d upstreams healthy", n)
		if n == 1 {
			v.Headline = "The upstream is healthy"
		}
	case len(bad) == 0 && n == 1:
		v.Class, v.Headline = "warn", fmt.Sprintf("The upstream is healthy, %s firing", plural(firing, "alert"))
	case len(bad) == 0:
		v.Class, v.Headline = "warn", fmt.Sprintf("All %d upstreams healthy, %s firing", n, plural(firing, "alert"))
	case n == 1:
		v.Class, v.Headline = "warn", "The upstream is in trouble"
	default:
		v.Class, v.Headline = "warn", fmt.Sprintf("%d of %d upstreams in trouble", len(bad), n)
	}
	if usableCount == 0 && len(r.Upstreams) > 0 || p0 {
		v.Class = "bad"
	}
	if usableCount == 0 && len(r.Upstreams) > 0 {
		v.Headline = "No upstream is usable: only the cache is answering"
	}
	for _, u := range bad {
		d := u.Name + " " + u.State
		switch ep := episodeStart(u); {
		case ep.IsZero():
		case down(u.State):
			d += ", down for " + formatAge(ep, r.GeneratedAt)
		default:
			d += " for " + formatAge(u.Since, r.GeneratedAt)
		}
		if u.Samples > 0 {
			d += ", " + formatRatio(u.ErrorRate) + " errors"
		}
		v.Details = append(v.Details, d)
	}
	spaceVerdict(r.Cache, &v)
	sharedVerdict(r, &v)
	switch {
	case hurt:
		v.Details = append(v.Details, fmt.Sprintf("%s of %s client requests failed since start", formatCount(r.Clients.Failed), formatCount(r.Clients.Requests)))
	case r.Clients != nil && len(bad) > 0:
		v.Details = append(v.Details, "no client request has failed")
	}
	return v
}

// cards picks the headline numbers.
func cards(r Report) []cardView {
	healthy := 0
	for _, u := range r.Upstreams {
		if u.State == "healthy" {
			healthy++
		}
	}
	up := cardView{Label: "Healthy upstreams", Value: fmt.Sprintf("%d of %d", healthy, len(r.Upstreams)), Class: "ok"}
	if healthy < len(r.Upstreams) || len(r.Upstreams) == 0 {
		up.Class = "warn"
		var states []string
		for _, u := range r.Upstreams {
			if troubled(u.State) {
				states = append(states, u.State)
			}
		}
		up.Detail = strings.Join(states, ", ")
	}
	firing, pending, worst := 0, 0, ""
	for _, a := range r.Alerts {
		switch a.State {
		case "firing":
			firing++
			if worst == "" || a.Severity < worst {
				worst = a.Severity
			}
		case "pending":
			pending++
		}
	}
	al := cardView{Label: "Alerts firing", Value: fmt.Sprint(firing), Class: "ok", Detail: "none"}
	if firing > 0 {
		al.Class, al.Detail = "warn", "worst "+worst
		if worst == "P0" {
			al.Class = "bad"
		}
	}
	if pending > 0 {
		al.Detail += fmt.Sprintf(", %d pending", pending)
	}
	out := []cardView{up, al}
	if c := r.Clients; c != nil {
		cl := cardView{Label: "Failed client requests", Value: formatCount(c.Failed), Detail: "of " + formatCount(c.Requests) + " since start", Class: "ok"}
		if c.Failed > 0 {
			cl.Class = "bad"
		}
		out = append(out, cl)
	}
	out = append(out, cardView{
		Label:  "Cache hit ratio",
		Value:  formatRatio(r.Cache.HitRatio),
		Detail: formatCount(uint64(max(r.Cache.Entries, 0))) + " entries, " + formatBytes(max(r.Cache.Bytes, 0)),
	})
	return out
}

// newUpstreamRow lays out one upstream at now.
func newUpstreamRow(u Upstream, color string, now time.Time) upstreamRow {
	row := upstreamRow{
		Name:       u.Name,
		Color:      color,
		Preferred:  u.Preferred,
		Private:    u.Private,
		State:      cmp.Or(u.State, "unknown"),
		StateClass: stateClass(u.State),
		Since:      formatClock(u.Since, now),
		SinceFull:  formatTime(u.Since, now.Location()),
		For:        formatAge(u.Since, now),
		Episode:    "up",
		Score:      dash, P50: dash, P95: dash, P99: dash, ErrorRate: dash,
		Traffic:  formatRatio(u.TrafficShare),
		Failures: formatCount(u.Failures) + " of " + formatCount(u.Requests) + " failed",
	}
	if u.Probes > 0 {
		row.Failures += "; probes: " + formatCount(u.ProbeFailures) + " of " + formatCount(u.Probes)
	}
	if down(u.State) {
		row.Episode = "down"
	}
	if ep := episodeStart(u); !ep.IsZero() {
		row.EpisodeSince = formatClock(ep, now)
		row.EpisodeFull = formatTime(ep, now.Location())
		row.EpisodeFor = formatAge(ep, now)
		if u.Since.After(ep) {
			row.StateSince = row.State + " since " + formatClock(u.Since, now)
		}
	}
	if !u.Until.IsZero() {
		row.Until = formatClock(u.Until, now)
	}
	if u.Samples > 0 {
		row.Score = formatSeconds(u.Score)
		if u.P99 > 0 { // else no response arrived in the window
			row.P50, row.P95, row.P99 = formatSeconds(u.P50), formatSeconds(u.P95), formatSeconds(u.P99)
		}
		row.ErrorRate = formatRatio(u.ErrorRate)
		switch {
		case u.ErrorRate >= 0.2:
			row.ErrorClass = "bad"
		case u.ErrorRate >= 0.02:
			row.ErrorClass = "warn"
		}
	}
	row.Why = oneLine(u.Why, 120)
	if u.LastError != "" {
		row.LastError = oneLine(u.LastError, 90)
		row.LastErrorFull = u.LastError
		row.LastErrorAt = formatClock(u.LastErrorAt, now)
		row.LastErrorAgo = formatAge(u.LastErrorAt, now)
	}
	return row
}

// measure is one quantity plotted over every range: value gives it at a
// point, and whether it is unknown there (a gap, never 0).
type measure struct {
	id, title, note string
	unit            plotUnit
	value           func(Point) (v float64, missing bool)
}

// measures are the plotted quantities, one line per upstream in each
// plot: one latency percentile per plot, so that lines do not pile up.
func measures() []measure {
	latency := func(pct string, v func(Point) float64) measure {
		return measure{"latency-" + pct, "Time to first byte, " + pct,
			pct + " over the health window; a gap where nothing answered", unitSeconds,
			func(p Point) (float64, bool) { return v(p), p.LatencyMissing }}
	}
	return []measure{
		latency("p50", func(p Point) float64 { return p.P50 }),
		latency("p95", func(p Point) float64 { return p.P95 }),
		latency("p99", func(p Point) float64 { return p.P99 }),
		{"errors", "Error rate", "share of requests and probes that failed; a gap where nothing was tried", unitRatio,
			func(p Point) (float64, bool) { return p.ErrorRate, p.ErrorRateMissing }},
		{"traffic", "Traffic share", "share of upstream requests each mirror got; a gap where there were none", unitRatio,
			func(p Point) (float64, bool) { return p.TrafficShare, p.TrafficMissing }},
	}
}

// metrics lays out the plots: one row per measure, one plot per range.
// The plots of a measure share their y axis, so that the same value sits
// at the same height in every range.
func metrics(r Report, colors map[string]string) []metricView {
	var out []metricView
	for _, m := range measures() {
		mv := metricView{ID: m.id, Title: m.title, Note: m.note}
		plots := make([]linePlot, len(r.Ranges))
		top := 0.0
		for i, rg := range r.Ranges {
			p := linePlot{
				Title: m.title + ", " + rg.Name,
				From:  rg.From, To: rg.To,
				Step: time.Duration(min(rg.Step, 1e9) * float64(time.Second)),
				Unit: m.unit,
				Loc:  r.GeneratedAt.Location(),
			}
			for _, s := range rg.Series {
				l := plotLine{Label: s.Upstream, Color: colors[s.Upstream]}
				for _, pt := range s.Points {
					v, missing := m.value(pt)
					l.Points = append(l.Points, plotPoint{T: pt.T, V: v, Missing: pt.Missing || missing})
				}
				p.Lines = append(p.Lines, l)
			}
			from, to := p.span()
			top = max(top, p.maxValue(from, to))
			plots[i] = p
		}
		for i, rg := range r.Ranges {
			p := plots[i]
			p.Max = top
			caption := rg.Name
			if rg.To.After(rg.From) {
				caption += " · " + formatMinute(rg.From, r.GeneratedAt) + " – " + formatMinute(rg.To, r.GeneratedAt)
			}
			mv.Plots = append(mv.Plots, plotView{Caption: caption, SVG: p.svg()})
		}
		out = append(out, mv)
	}
	return out
}

// alertRows lays out the alerts: firing, then pending, then resolved.
func alertRows(alerts []Alert, now time.Time) []alertRow {
	sorted := slices.Clone(alerts)
	slices.SortStableFunc(sorted, func(a, b Alert) int { return cmp.Compare(alertRank(a.State), alertRank(b.State)) })
	var rows []alertRow
	for _, a := range sorted {
		row := alertRow{
			Severity:      cmp.Or(a.Severity, "?"),
			SeverityClass: "sev-other",
			Rule:          a.Rule,
			Upstream:      cmp.Or(a.Upstream, dash), // none: about the whole pool
			State:         cmp.Or(a.State, "unknown"),
			StateClass:    "al-" + cmp.Or(a.State, "unknown"),
			Value:         formatValue(a.Value, a.Unit),
			Threshold:     formatValue(a.Threshold, a.Unit),
			Summary:       a.Summary,
		}
		switch a.Severity {
		case "P0", "P1", "P2":
			row.SeverityClass = "sev-" + strings.ToLower(a.Severity)
		}
		switch a.State {
		case "firing", "pending", "resolved":
		default:
			row.StateClass = "al-unknown"
		}
		// An active alert is dated from when its condition began (for
		// upstream_down, the first failure of the outage), so that it
		// agrees with the upstream's row and the headline.
		at, verb := firstSet(a.Since, a.FiredAt), "for"
		switch a.State {
		case "pending":
			at = a.Since
		case "resolved":
			at, verb = firstSet(a.ResolvedAt, a.FiredAt, a.Since), "ago"
		}
		row.When = formatClock(at, now)
		row.WhenFull = formatTime(at, now.Location())
		if a.State == "firing" && !a.FiredAt.IsZero() && !a.FiredAt.Equal(at) {
			row.WhenFull = "since " + row.WhenFull + "; fired " + formatTime(a.FiredAt, now.Location())
		}
		switch {
		case at.IsZero():
		case verb == "for":
			row.When += " (for " + formatAge(at, now) + ")"
		default:
			row.When = "resolved " + row.When + " (" + formatAge(at, now) + " ago)"
		}
		rows = append(rows, row)
	}
	return rows
}

// firstSet returns the first of ts that is not zero, or the zero time.
func firstSet(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// plural is n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// urlHTML shows the URL s so that it wraps only after a slash, never in
// the middle of a host or a path element (not even at a hyphen): in a
// span of class url, the scheme with its "://" and every later piece
// ending in "/" are spans that do not wrap, with a possible break
// between them.
func urlHTML(s string) template.HTML {
	var pieces []string
	rest := s
	if i := strings.Index(rest, "://"); i >= 0 {
		pieces, rest = append(pieces, rest[:i+3]), rest[i+3:]
	}
	for {
		i := strings.Index(rest, "/")
		if i < 0 {
			break
		}
		pieces, rest = append(pieces, rest[:i+1]), rest[i+1:]
	}
	if rest != "" {
		pieces = append(pieces, rest)
	}
	var b strings.Builder
	b.WriteString(`<span class="url">`)
	for i, p := range pieces {
		if i > 0 {
			b.WriteString("<wbr>")
		}
		b.WriteString("<span>" + html.EscapeString(p) + "</span>")
	}
	b.WriteString(`</span>`)
	return template.HTML(b.String()) // every piece of s is escaped
}
