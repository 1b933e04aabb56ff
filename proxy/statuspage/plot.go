package statuspage

import (
	"html"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"
)

// linePlot is a line chart of values over time. Its SVG scales to the
// width of its container (viewBox, width 100%), draws the y axis from 0,
// and leaves a gap where a point is missing. The same plot always gives
// the same bytes, and no NaN or infinity ever reaches them.
type linePlot struct {
	// Title names the plot for screen readers.
	Title string
	// From and To bound the time axis. When To is not after From, the
	// axis spans the points instead.
	From, To time.Time
	// Step is the spacing of the points: points further apart than one
	// and a half steps are not joined. Zero joins every pair of present
	// points.
	Step time.Duration
	// Unit says how the y axis is labelled.
	Unit plotUnit
	// Max, when above the largest value drawn, is the value the y axis
	// reaches instead: plots of one quantity over several ranges share
	// it, so that they share their scale.
	Max float64
	// Loc is the time zone of the time axis' labels; nil means UTC.
	Loc *time.Location
	// Lines are drawn in order, the last on top.
	Lines []plotLine
}

// plotLine is one line of a linePlot.
type plotLine struct {
	// Label names the line, in a data-label attribute.
	Label string
	// Color is a CSS colour; Dash an SVG stroke-dasharray, empty for a
	// solid line.
	Color, Dash string
	// Points are the values, in any order.
	Points []plotPoint
}

// plotPoint is one value of a line at one time. A missing point, or one
// whose value is NaN or infinite, breaks the line.
type plotPoint struct {
	T       time.Time
	V       float64
	Missing bool
}

// The geometry of every plot, in viewBox units.
const (
	plotWidth    = 520
	plotHeight   = 230
	marginLeft   = 62
	marginRight  = 24
	marginTop    = 14
	marginBottom = 30
	plotFontSize = 13
)

// svg renders the plot.
func (p linePlot) svg() template.HTML {
	loc := p.Loc
	if loc == nil {
		loc = time.UTC
	}
	from, to := p.span()
	top, yTicks := valueTicks(max(p.maxValue(from, to), finite(p.Max)), p.Unit)
	g := geometry{from: from, to: to, top: top}

	var b strings.Builder
	title := html.EscapeString(p.Title)
	b.WriteString(`<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + itoa(plotWidth) + ` ` + itoa(plotHeight) +
		`" width="100%" role="img" aria-label="` + title + `" font-size="` + itoa(plotFontSize) + `">`)
	b.WriteString(`<title>` + title + `</title>`)

	b.WriteString(`<g class="y-axis" fill="#5f6b7a" text-anchor="end">`)
	for _, t := range yTicks {
		y := coord(g.y(t.At))
		b.WriteString(`<line x1="` + itoa(marginLeft) + `" x2="` + itoa(plotWidth-marginRight) + `" y1="` + y + `" y2="` + y + `" stroke="#e3e8ee"/>`)
		b.WriteString(`<text x="` + itoa(marginLeft-8) + `" y="` + y + `" dy="0.35em">` + html.EscapeString(t.Label) + `</text>`)
	}
	b.WriteString(`</g>`)

	bottom := itoa(plotHeight - marginBottom)
	b.WriteString(`<g class="x-axis" fill="#5f6b7a" text-anchor="middle">`)
	b.WriteString(`<line x1="` + itoa(marginLeft) + `" x2="` + itoa(plotWidth-marginRight) + `" y1="` + bottom + `" y2="` + bottom + `" stroke="#9aa5b1"/>`)
	for _, t := range timeTicks(from, to, loc) {
		x := g.x(t.At)
		b.WriteString(`<line x1="` + coord(x) + `" x2="` + coord(x) + `" y1="` + bottom + `" y2="` + itoa(plotHeight-marginBottom+5) + `" stroke="#9aa5b1"/>`)
		b.WriteString(`<text x="` + coord(x) + `" y="` + itoa(plotHeight-8) + `">` + html.EscapeString(t.Label) + `</text>`)
	}
	b.WriteString(`</g>`)

	// Before the first value known, as on a new instance, the plot says
	// that nothing is known, rather than leave a blank that reads as a
	// line squeezed to the right.
	if first, ok := p.firstDrawn(from, to); ok && first.Sub(from) > to.Sub(from)/20 {
		x0, x1 := float64(marginLeft), g.x(first)
		b.WriteString(`<g class="no-data-span"><rect x="` + coord(x0) + `" y="` + itoa(marginTop) + `" width="` + coord(x1-x0) +
			`" height="` + itoa(plotHeight-marginTop-marginBottom) + `" fill="#f3f4f6"/>`)
		if x1-x0 >= 70 {
			b.WriteString(`<text x="` + coord((x0+x1)/2) + `" y="` + itoa((plotHeight-marginBottom+marginTop)/2) +
				`" text-anchor="middle" fill="#5f6b7a">no data</text>`)
		}
		b.WriteString(`</g>`)
	}

	drawn := false
	for _, l := range p.Lines {
		b.WriteString(`<g class="series" data-label="` + html.EscapeString(l.Label) + `">`)
		var path strings.Builder
		for _, seg := range p.segments(l, from, to) {
			if len(seg) == 1 {
				b.WriteString(`<circle cx="` + coord(g.x(seg[0].T)) + `" cy="` + coord(g.y(seg[0].V)) + `" r="2.5" fill="` + html.EscapeString(l.Color) + `"/>`)
				drawn = true
				continue
			}
			for i, pt := range seg {
				if i == 0 {
					path.WriteString("M")
				} else {
					path.WriteString(" L")
				}
				path.WriteString(coord(g.x(pt.T)) + " " + coord(g.y(pt.V)))
			}
		}
		if path.Len() > 0 {
			dash := ""
			if l.Dash != "" {
				dash = ` stroke-dasharray="` + html.EscapeString(l.Dash) + `"`
			}
			b.WriteString(`<path d="` + path.String() + `" fill="none" stroke="` + html.EscapeString(l.Color) + `" stroke-width="2"` + dash +
				` stroke-linejoin="round" stroke-linecap="round"/>`)
			drawn = true
		}
		b.WriteString(`</g>`)
	}
	if !drawn {
		b.WriteString(`<text class="no-data" x="` + itoa((plotWidth+marginLeft-marginRight)/2) + `" y="` + itoa((plotHeight-marginBottom+marginTop)/2) +
			`" text-anchor="middle" fill="#5f6b7a">no data</text>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every interpolated string above is escaped
}

// maxSpan is the longest time axis: a century, well within what a
// time.Duration holds.
const maxSpan = 100 * 365 * 24 * time.Hour

// span returns the time axis' bounds: From and To, or the points' first
// and last times, or the hour before To, so that to is after from. An axis
// longer than maxSpan is cut to the end of it.
func (p linePlot) span() (from, to time.Time) {
	defer func() {
		if to.Sub(from) > maxSpan {
			from = to.Add(-maxSpan)
		}
	}()
	from, to = p.From, p.To
	if to.After(from) {
		return from, to
	}
	from, to = time.Time{}, time.Time{}
	for _, l := range p.Lines {
		for _, pt := range l.Points {
			if from.IsZero() || pt.T.Before(from) {
				from = pt.T
			}
			if to.IsZero() || pt.T.After(to) {
				to = pt.T
			}
		}
	}
	if to.IsZero() {
		to = p.To
	}
	if !to.After(from) {
		from = to.Add(-time.Hour)
	}
	return from, to
}

// maxValue is the largest value drawn between from and to; 0 when none is.
func (p linePlot) maxValue(from, to time.Time) float64 {
	m := 0.0
	for _, l := range p.Lines {
		for _, pt := range l.Points {
			if drawable(pt, from, to) && pt.V > m {
				m = pt.V
			}
		}
	}
	return m
}

// firstDrawn is the time of the earliest value drawn between from and
// to; ok is false when none is.
func (p linePlot) firstDrawn(from, to time.Time) (first time.Time, ok bool) {
	for _, l := range p.Lines {
		for _, pt := range l.Points {
			if drawable(pt, from, to) && (!ok || pt.T.Before(first)) {
				first, ok = pt.T, true
			}
		}
	}
	return first, ok
}

// drawable reports whether pt has a value to draw within the axis.
func drawable(pt plotPoint, from, to time.Time) bool {
	return !pt.Missing && isFinite(pt.V) && !pt.T.Before(from) && !pt.T.After(to)
}

// segments splits a line's points within the axis into runs to be joined,
// in time order: a missing point, or a distance of more than one and a
// half steps, ends a run.
func (p linePlot) segments(l plotLine, from, to time.Time) [][]plotPoint {
	pts := slices.Clone(l.Points)
	slices.SortStableFunc(pts, func(a, b plotPoint) int { return a.T.Compare(b.T) })
	var segs [][]plotPoint
	var cur []plotPoint
	for _, pt := range pts {
		if pt.T.Before(from) || pt.T.After(to) {
			continue
		}
		gap := len(cur) > 0 && p.Step > 0 && pt.T.Sub(cur[len(cur)-1].T) > p.Step+p.Step/2
		if !drawable(pt, from, to) || gap {
			if len(cur) > 0 {
				segs = append(segs, cur)
			}
			cur = nil
		}
		if drawable(pt, from, to) {
			cur = append(cur, pt)
		}
	}
	if len(cur) > 0 {
		segs = append(segs, cur)
	}
	return segs
}

// geometry maps times and values to viewBox coordinates.
type geometry struct {
	from, to time.Time
	top      float64
}

// x is the horizontal position of t, within the plot area.
func (g geometry) x(t time.Time) float64 {
	f := float64(t.Sub(g.from)) / float64(g.to.Sub(g.from))
	return marginLeft + clamp(f, 0, 1)*(plotWidth-marginLeft-marginRight)
}

// y is the vertical position of v, within the plot area.
func (g geometry) y(v float64) float64 {
	f := v / g.top
	return plotHeight - marginBottom - clamp(f, 0, 1)*(plotHeight-marginTop-marginBottom)
}

// clamp limits f to [lo, hi], taking NaN to lo.
func clamp(f, lo, hi float64) float64 {
	if !(f >= lo) {
		return lo
	}
	return min(f, hi)
}

// coord prints a coordinate with one decimal.
func coord(f float64) string { return strconv.FormatFloat(finite(f), 'f', 1, 64) }

// itoa prints an integer.
func itoa(i int) string { return strconv.Itoa(i) }
