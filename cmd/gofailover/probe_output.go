package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gofailover/gofailover/health"
)

// writeProbeTable writes the report as a table, one row per mirror, then
// one line per problem and a count of the verdicts.
func writeProbeTable(w io.Writer, r *probeReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := []string{"MIRROR", "VERDICT", "REACHABLE"}
	if len(r.Mirrors) > 0 {
		for _, ep := range r.Mirrors[0].Endpoints {
			header = append(header, endpointColumn(ep.Kind))
		}
	}
	header = append(header, "FAILED", "P50", "P95", "P99", "STALE")
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, m := range r.Mirrors {
		row := []string{m.URL, string(m.Verdict), yesNo(m.Reachable)}
		for _, ep := range m.Endpoints {
			row = append(row, endpointCell(ep))
		}
		row = append(row, fmt.Sprintf("%d/%d", m.Failures, m.Requests),
			latencyText(m.LatencyP50Seconds), latencyText(m.LatencyP95Seconds), latencyText(m.LatencyP99Seconds),
			orDash(strings.Join(m.Stale, ",")))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the probe table: %w", err)
	}

	var b strings.Builder
	count := map[verdict]int{}
	for _, m := range r.Mirrors {
		count[m.Verdict]++
		for _, p := range m.Problems {
			fmt.Fprintf(&b, "%s: %s\n", m.URL, p)
		}
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	plural := "s"
	if len(r.Mirrors) == 1 {
		plural = ""
	}
	fmt.Fprintf(&b, "%d mirror%s: %d healthy, %d degraded, %d unusable\n",
		len(r.Mirrors), plural, count[verdictHealthy], count[verdictDegraded], count[verdictUnusable])
	if _, err := io.WriteString(w, "\n"+b.String()); err != nil {
		return fmt.Errorf("writing the probe problems: %w", err)
	}
	return nil
}

// endpointColumn is the table heading of an endpoint's column.
func endpointColumn(kind health.ProbeKind) string {
	if kind == health.ProbeSumDB {
		return "SUPPORTED"
	}
	return strings.ToUpper(string(kind))
}

// endpointCell is an endpoint's table cell: its outcomes, or "-" when no
// request was made.
func endpointCell(ep endpointReport) string {
	return orDash(strings.Join(ep.Outcomes, ","))
}

// latencyText formats a latency in seconds for the table: "-" when
// unknown.
func latencyText(s *float64) string {
	if s == nil {
		return "-"
	}
	d := time.Duration(*s * float64(time.Second))
	if d < 100*time.Millisecond {
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// yesNo formats a boolean for the table.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeProbeJSON writes the report as an indented JSON document.
func writeProbeJSON(w io.Writer, r *probeReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing the probe report as JSON: %w", err)
	}
	return nil
}
