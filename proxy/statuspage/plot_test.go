package statuspage

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// minutePlot is a plot over the hour before sampleNow with one line whose
// values are vs, one a minute, ending at sampleNow; NaN stands for a
// missing point.
func minutePlot(unit plotUnit, vs ...float64) linePlot {
	now := sampleNow()
	l := plotLine{Label: "a", Color: "#0072B2"}
	for i, v := range vs {
		pt := plotPoint{T: now.Add(time.Duration(i-len(vs)+1) * time.Minute), V: v}
		if math.IsNaN(v) {
			pt = plotPoint{T: pt.T, Missing: true}
		}
		l.Points = append(l.Points, pt)
	}
	return linePlot{Title: "test", From: now.Add(-time.Hour), To: now, Step: time.Minute, Unit: unit, Lines: []plotLine{l}}
}

// paths returns the d attribute of each path in svg.
func paths(svg string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<path d="([^"]*)"`).FindAllStringSubmatch(svg, -1) {
		out = append(out, m[1])
	}
	return out
}

// checkSVG checks what every plot must be.
func checkSVG(t *testing.T, svg string) {
	t.Helper()
	if !strings.HasPrefix(svg, `<svg class="plot"`) || !strings.HasSuffix(svg, `</svg>`) || !strings.Contains(svg, `viewBox="0 0 520 230" width="100%"`) {
		t.Errorf("not a scalable svg: %.200s", svg)
	}
	for _, bad := range []string{"NaN", "Inf"} {
		if strings.Contains(svg, bad) {
			t.Errorf("svg contains %q: %.300s", bad, svg)
		}
	}
	if m := regexp.MustCompile(`(^|[ "ML])[-+]?[0-9.]+[eE][-+]?[0-9]`).FindString(svg); m != "" {
		t.Errorf("svg has a number in exponent form: %q", m)
	}
}

func TestPlotGapAtMissingPoint(t *testing.T) {
	svg := string(minutePlot(unitRatio, 0.1, 0.2, math.NaN(), 0.3, 0.4).svg())
	checkSVG(t, svg)
	ps := paths(svg)
	if len(ps) != 1 || strings.Count(ps[0], "M") != 2 || strings.Count(ps[0], "L") != 2 {
		t.Errorf("path %q: want two runs of two points", ps)
	}
}

func TestPlotGapWhenPointsAreFarApart(t *testing.T) {
	p := minutePlot(unitRatio, 0.1, 0.2, 0.3)
	// A point ten minutes before the others: not joined to them.
	p.Lines[0].Points = append(p.Lines[0].Points, plotPoint{T: sampleNow().Add(-12 * time.Minute), V: 0.5})
	p.Lines[0].Points = append(p.Lines[0].Points, plotPoint{T: sampleNow().Add(-13 * time.Minute), V: 0.5})
	ps := paths(string(p.svg()))
	if len(ps) != 1 || strings.Count(ps[0], "M") != 2 {
		t.Errorf("path %q: want two runs", ps)
	}
	// Without a step, present points are all joined.
	p.Step = 0
	if ps := paths(string(p.svg())); len(ps) != 1 || strings.Count(ps[0], "M") != 1 {
		t.Errorf("step 0: path %q, want one run", ps)
	}
}

func TestPlotSinglePointIsADot(t *testing.T) {
	svg := string(minutePlot(unitSeconds, 0.2).svg())
	checkSVG(t, svg)
	if len(paths(svg)) != 0 || strings.Count(svg, "<circle") != 1 || strings.Contains(svg, `class="no-data"`) {
		t.Errorf("single point: want one dot and no line: %s", svg)
	}
	// An isolated point between gaps is a dot too.
	svg = string(minutePlot(unitSeconds, 0.1, 0.1, math.NaN(), 0.2, math.NaN(), 0.1, 0.1).svg())
	if len(paths(svg)) != 1 || strings.Count(svg, "<circle") != 1 {
		t.Errorf("isolated point: want one path and one dot: %s", svg)
	}
}

func TestPlotEmpty(t *testing.T) {
	for name, p := range map[string]linePlot{
		"no lines":       {Title: "t", From: sampleNow().Add(-time.Hour), To: sampleNow()},
		"no points":      minutePlot(unitRatio),
		"all missing":    minutePlot(unitRatio, math.NaN(), math.NaN()),
		"no time range":  {Title: "t"},
		"inverted range": {Title: "t", From: sampleNow(), To: sampleNow().Add(-time.Hour)},
	} {
		svg := string(p.svg())
		checkSVG(t, svg)
		if !strings.Contains(svg, ">no data</text>") || len(paths(svg)) != 0 {
			t.Errorf("%s: want an empty plot saying no data: %s", name, svg)
		}
	}
}

func TestPlotAllZero(t *testing.T) {
	for _, unit := range []plotUnit{unitSeconds, unitRatio} {
		svg := string(minutePlot(unit, 0, 0, 0).svg())
		checkSVG(t, svg)
		ps := paths(svg)
		baseline := coord(plotHeight - marginBottom)
		if len(ps) != 1 || strings.Count(ps[0], " "+baseline) != 3 {
			t.Errorf("unit %d: path %q, want three points on the baseline y=%s", unit, ps, baseline)
		}
		if strings.Count(svg, "<text") < 3 {
			t.Errorf("unit %d: axis without labels: %s", unit, svg)
		}
	}
}

func TestPlotScalesToRoundTop(t *testing.T) {
	svg := string(minutePlot(unitSeconds, 0.05, 0.25).svg())
	checkSVG(t, svg)
	for _, label := range []string{">0 ms<", ">100 ms<", ">200 ms<", ">300 ms<"} {
		if !strings.Contains(svg, label) {
			t.Errorf("y axis lacks %s", label)
		}
	}
	if strings.Contains(svg, ">400 ms<") {
		t.Errorf("y axis goes past 300 ms")
	}
	// 0.25 of a 0.3 top: five sixths up the plot area; the last point is at the right edge.
	g := geometry{from: sampleNow().Add(-time.Hour), to: sampleNow(), top: 0.3}
	want := "L" + coord(plotWidth-marginRight) + " " + coord(g.y(0.25))
	if ps := paths(svg); len(ps) != 1 || !strings.HasSuffix(ps[0], want) {
		t.Errorf("path %q, want it to end with %q", ps, want)
	}

	svg = string(minutePlot(unitSeconds, 1.2, 4.1).svg())
	if !strings.Contains(svg, ">6 s<") || !strings.Contains(svg, ">0 s<") {
		t.Errorf("seconds axis: want labels in s: %s", svg)
	}
	svg = string(minutePlot(unitRatio, 0.004, 0.012).svg())
	if !strings.Contains(svg, ">1.5%<") || !strings.Contains(svg, ">0%<") {
		t.Errorf("ratio axis: want labels in %%: %s", svg)
	}
}

func TestPlotNonFiniteAndExtremeValues(t *testing.T) {
	p := minutePlot(unitSeconds, 0.1, math.Inf(1), 0.2, math.NaN(), math.Inf(-1), -5, 1e300, 5e-324, 0.3)
	p.Lines = append(p.Lines, plotLine{Label: `<x "y">`, Color: `red" onload="x`, Dash: "2 3"})
	svg := string(p.svg())
	checkSVG(t, svg)
	if strings.Contains(svg, `"red" onload`) || strings.Contains(svg, `<x "y">`) {
		t.Errorf("labels and colours not escaped: %s", svg)
	}
	// Times far apart do not overflow the axis either.
	p.From, p.To = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	checkSVG(t, string(p.svg()))
}

func TestPlotIgnoresOrderAndPointsOutsideTheRange(t *testing.T) {
	a := minutePlot(unitRatio, 0.1, 0.2, 0.3)
	b := minutePlot(unitRatio, 0.1, 0.2, 0.3)
	pts := b.Lines[0].Points
	pts[0], pts[2] = pts[2], pts[0]
	b.Lines[0].Points = append(pts, plotPoint{T: sampleNow().Add(time.Hour), V: 9}, plotPoint{T: sampleNow().Add(-2 * time.Hour), V: 9})
	if a.svg() != b.svg() {
		t.Errorf("order or out-of-range points changed the plot:\n%s\n%s", a.svg(), b.svg())
	}
}

func TestPlotIsDeterministic(t *testing.T) {
	rep := sampleReport()
	first := newPageView(rep).Metrics
	second := newPageView(rep).Metrics
	for i := range first {
		for j := range first[i].Plots {
			if first[i].Plots[j].SVG != second[i].Plots[j].SVG {
				t.Errorf("plot %s %d differs between two renderings", first[i].ID, j)
			}
			checkSVG(t, string(first[i].Plots[j].SVG))
		}
	}
}

func TestTimeTicks(t *testing.T) {
	now := sampleNow()
	for _, tc := range []struct {
		span time.Duration
		want string
	}{
		{time.Hour, "11:00 11:10 11:20 11:30 11:40 11:50 12:00"},
		{24 * time.Hour, "12:00 18:00 Mar 10 06:00 12:00"},
		{6 * 24 * time.Hour, "Mar 5 Mar 6 Mar 7 Mar 8 Mar 9 Mar 10"},
		{7 * 24 * time.Hour, "Mar 5 Mar 7 Mar 9"},
		{2 * 365 * 24 * time.Hour, "2024-07-10 2024-11-09 2025-03-11 2025-07-11 2025-11-10"},
	} {
		var got []string
		for _, tk := range timeTicks(now.Add(-tc.span), now, time.UTC) {
			got = append(got, tk.Label)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("span %v: ticks %q, want %q", tc.span, got, tc.want)
		}
	}
}

func TestValueTicks(t *testing.T) {
	for _, tc := range []struct {
		max  float64
		unit plotUnit
		want string
	}{
		{0, unitSeconds, "0 ms,25 ms,50 ms,75 ms,100 ms"},
		{0, unitRatio, "0%,25%,50%,75%,100%"},
		{0.62, unitRatio, "0%,20%,40%,60%,80%"},
		{0.3, unitSeconds, "0 ms,100 ms,200 ms,300 ms"},
		{4.1, unitSeconds, "0 s,2 s,4 s,6 s"},
		{1e300, unitSeconds, "0 s,250000000 s,500000000 s,750000000 s,1000000000 s"},
		{math.NaN(), unitRatio, "0%,25%,50%,75%,100%"},
	} {
		_, ticks := valueTicks(tc.max, tc.unit)
		var got []string
		for _, tk := range ticks {
			got = append(got, tk.Label)
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("valueTicks(%v, %d) = %q, want %q", tc.max, tc.unit, got, tc.want)
		}
	}
}
