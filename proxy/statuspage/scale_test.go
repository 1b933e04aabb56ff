package statuspage

import (
	"strings"
	"testing"
	"time"
)

// TestSameScaleInEveryRange: the error rate of the last hour peaks at
// 100% and that of the last day at 8%; both plots run from 0 to 100%.
// The latency plots share their top too.
func TestSameScaleInEveryRange(t *testing.T) {
	now := sampleNow()
	rng := func(name string, span time.Duration, rate, p50 float64) Range {
		rg := Range{Name: name, From: now.Add(-span), To: now, Step: (span / 10).Seconds()}
		s := Series{Upstream: mirrorA}
		for i := 1; i <= 10; i++ {
			s.Points = append(s.Points, Point{T: rg.From.Add(time.Duration(i) * span / 10), ErrorRate: rate, P50: p50, P95: p50, P99: p50})
		}
		rg.Series = []Series{s}
		return rg
	}
	r := Report{GeneratedAt: now, Ranges: []Range{rng("last hour", time.Hour, 1, 2.2), rng("last day", 24*time.Hour, 0.08, 0.05)}}
	for _, m := range metrics(r, upstreamColors(r)) {
		if m.ID != "errors" && m.ID != "latency-p50" {
			continue
		}
		want := map[string]string{"errors": ">100%<", "latency-p50": ">3 s<"}[m.ID]
		for _, p := range m.Plots {
			if !strings.Contains(string(p.SVG), want) {
				t.Errorf("%s, %s: y axis does not reach %s", m.ID, p.Caption, want)
			}
		}
	}
}

// TestPlotMarksNoData: on a new instance, the stretch of the range before
// the first value is marked as without data rather than left blank, and
// a plot whose values cover the range has no such mark.
func TestPlotMarksNoData(t *testing.T) {
	fresh := string(minutePlot(unitSeconds, 0.1, 0.2, 0.1).svg())
	checkSVG(t, fresh)
	if !strings.Contains(fresh, `<g class="no-data-span">`) || !strings.Contains(fresh, ">no data<") {
		t.Errorf("fresh plot lacks its no-data span: %s", fresh)
	}
	vs := make([]float64, 61)
	for i := range vs {
		vs[i] = 0.1
	}
	if full := string(minutePlot(unitSeconds, vs...).svg()); strings.Contains(full, "no-data-span") {
		t.Errorf("a full plot is marked as without data")
	}
}

// TestUnknownLatencyIsAGap: points whose latency is unknown are not drawn,
// while the error rate of the same points is.
func TestUnknownLatencyIsAGap(t *testing.T) {
	now := sampleNow()
	rg := Range{Name: "last hour", From: now.Add(-10 * time.Minute), To: now, Step: 60}
	s := Series{Upstream: mirrorA}
	for i := 1; i <= 10; i++ {
		p := Point{T: rg.From.Add(time.Duration(i) * time.Minute), P50: 0.05, ErrorRate: 0.01, State: "healthy"}
		if i > 5 {
			p = Point{T: p.T, LatencyMissing: true, ErrorRate: 1, State: "open"}
		}
		s.Points = append(s.Points, p)
	}
	rg.Series = []Series{s}
	r := Report{GeneratedAt: now, Ranges: []Range{rg}}
	for _, m := range metrics(r, upstreamColors(r)) {
		svg := string(m.Plots[0].SVG)
		ds := paths(svg)
		switch m.ID {
		case "latency-p50":
			if len(ds) != 1 || strings.Count(ds[0], "L") != 4 {
				t.Errorf("latency: paths %q, want the five known points only", ds)
			}
		case "errors":
			if len(ds) != 1 || strings.Count(ds[0], "L") != 9 {
				t.Errorf("error rate: paths %q, want all ten points", ds)
			}
		}
	}
}
