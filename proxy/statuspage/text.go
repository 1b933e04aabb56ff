package statuspage

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
)

// WriteText writes r for a terminal: a line about the server, the upstream
// table in aligned columns (a * marks the preferred upstream), the firing
// and pending alerts, a line about the cache, and one about the shared
// store when there is one. Control characters in
// the report's text are replaced, so a report cannot drive the terminal.
func WriteText(w io.Writer, r Report) error {
	r = sanitized(r)
	now := r.GeneratedAt
	var b strings.Builder
	fmt.Fprintf(&b, "gofailover %s, up %s, checksum verification %s; generated %s\n\n",
		termSafe(cmp.Or(r.Version, "(unknown version)")), formatAge(r.StartedAt, now),
		termSafe(verificationText(r.Verification)), formatTime(now, now.Location()))

	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  UPSTREAM\tSTATE\tEPISODE\tSCORE\tP50\tP95\tP99\tERRORS\tTRAFFIC\tLAST ERROR")
	for _, u := range r.Upstreams {
		row := newUpstreamRow(u, "", now)
		mark := " "
		if u.Preferred {
			mark = "*"
		}
		since := row.Since
		switch {
		case row.EpisodeSince != "":
			since = row.Episode + " since " + row.EpisodeSince + " (" + row.EpisodeFor + ")"
		case !u.Since.IsZero():
			since += " (" + row.For + ")"
		}
		lastErr := "-"
		if row.LastError != "" {
			lastErr = row.LastErrorAt + " " + oneLine(row.LastError, 60)
		}
		name := termSafe(u.Name)
		if u.Private {
			name += " (private)"
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, name, termSafe(row.State), since,
			row.Score, row.P50, row.P95, row.P99, errorsCell(u, row.ErrorRate), row.Traffic, termSafe(lastErr))
	}
	if len(r.Upstreams) == 0 {
		fmt.Fprintln(tw, "  (no upstreams configured)")
	}
	tw.Flush()
	for _, u := range r.Upstreams {
		if u.Why != "" {
			fmt.Fprintf(&b, "  %s: %s\n", termSafe(u.Name), termSafe(oneLine(u.Why, 160)))
		}
	}
	for _, u := range r.Upstreams {
		if u.Preferred {
			b.WriteString("* the preferred upstream: first in the configured order\n")
			break
		}
	}

	b.WriteString("\n")
	var active []alertRow
	for _, a := range alertRows(r.Alerts, now) {
		if a.State == "firing" || a.State == "pending" {
			active = append(active, a)
		}
	}
	if len(active) == 0 {
		b.WriteString("No firing or pending alerts.\n")
	} else {
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tSTATE\tRULE\tUPSTREAM\tSINCE\tVALUE\tTHRESHOLD\tSUMMARY")
		for _, a := range active {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", termSafe(a.Severity), termSafe(a.State), termSafe(a.Rule),
				termSafe(a.Upstream), a.When, a.Value, a.Threshold, termSafe(oneLine(a.Summary, 80)))
		}
		tw.Flush()
	}

	c := r.Cache
	fmt.Fprintf(&b, "\nCache: %s entries, %s, hit ratio %s (%s hits, %s misses, %s stale)\n",
		formatCount(uint64(max(c.Entries, 0))), formatBytes(max(c.Bytes, 0)), formatRatio(c.HitRatio),
		formatCount(c.Hits), formatCount(c.Misses), formatCount(c.Stale))
	if c.CorruptBlobs > 0 {
		fmt.Fprintf(&b, "Cache: corrupt blobs found: %s (removed, never served)\n", formatCount(uint64(c.CorruptBlobs)))
	}
	if c.SetAside != "" {
		fmt.Fprintf(&b, "Cache: a damaged index was set aside at start-up: %s\n", termSafe(c.SetAside))
	}
	if c.Prefetched > 0 {
		fmt.Fprintf(&b, "Cache: prefetch hit rate %s (%s of %s fetched ahead then asked for, %s wasted)\n",
			formatRatio(c.PrefetchHitRatio), formatCount(c.PrefetchHits), formatCount(c.Prefetched), formatCount(c.PrefetchWasted))
	}
	if c.ReadOnly != "" {
		fmt.Fprintf(&b, "Cache: %s\n", termSafe(readOnlyText(c)))
	}
	b.WriteString(sharedText(r.SharedStore, now))
	if cl := r.Clients; cl != nil {
		fmt.Fprintf(&b, "Clients: %s of %s requests failed since start\n", formatCount(cl.Failed), formatCount(cl.Requests))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("statuspage: writing text report: %w", err)
	}
	return nil
}

// errorsCell is the ERRORS column: the error rate over the health window
// (rate, as the page shows it), or, when the window holds no outcome and
// the latest ones failed, as for a dead mirror between breaker trials,
// "100%" and how many failed in a row: never "-" for a failing upstream.
func errorsCell(u Upstream, rate string) string {
	if u.Samples == 0 && u.ConsecutiveFailures > 0 {
		return fmt.Sprintf("100%% (last %d)", u.ConsecutiveFailures)
	}
	return rate
}

// termSafe replaces the control characters in s, tabs and escapes
// included, with spaces.
func termSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s)
}
