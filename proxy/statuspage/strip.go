package statuspage

import (
	"html"
	"html/template"
	"strings"
	"time"
)

// This file draws the availability strips: per upstream and range, one
// slot per step, coloured by the worst state the upstream was in.

// stripView is one upstream's availability over every range.
type stripView struct {
	Name, Color string
	Ranges      []stripRange
}

// stripRange is one upstream's strip over one range.
type stripRange struct {
	// Caption names the range; Summary counts the slots by kind.
	Caption, Summary string
	SVG              template.HTML
}

// slotKind is how a strip's slot is coloured.
type slotKind string

// The kinds of slot, with their colours.
const (
	slotHealthy  slotKind = "healthy"
	slotDegraded slotKind = "degraded"
	slotDown     slotKind = "down"
	slotUnknown  slotKind = "unknown"
)

// slotColors colours the kinds: green, amber, red and grey, told apart by
// lightness too.
var slotColors = map[slotKind]string{
	slotHealthy:  "#34a853",
	slotDegraded: "#e8a200",
	slotDown:     "#b3261e",
	slotUnknown:  "#d5dae1",
}

// slotKindOf is the kind of pt's slot: unknown when nothing is known of
// the step or its state is not one this page knows.
func slotKindOf(pt Point) slotKind {
	switch {
	case pt.Missing:
		return slotUnknown
	case pt.State == "healthy":
		return slotHealthy
	case pt.State == "degraded":
		return slotDegraded
	case down(pt.State):
		return slotDown
	}
	return slotUnknown
}

// Geometry of a strip, in viewBox units: the width is the number of
// slots, each one unit wide; the SVG stretches to its container.
const stripHeight = 10

// strips lays out every upstream's strips, in the legend's order.
func strips(r Report, colors map[string]string) []stripView {
	var out []stripView
	for _, name := range colorOrder(r) {
		sv := stripView{Name: name, Color: colors[name]}
		for _, rg := range r.Ranges {
			var pts []Point
			for _, s := range rg.Series {
				if s.Upstream == name {
					pts = s.Points
					break
				}
			}
			step := time.Duration(min(rg.Step, 1e9) * float64(time.Second))
			svg, summary := stripSVG(name+", "+rg.Name, pts, step, r.GeneratedAt.Location(), r.GeneratedAt)
			sv.Ranges = append(sv.Ranges, stripRange{Caption: rg.Name, Summary: summary, SVG: svg})
		}
		out = append(out, sv)
	}
	return out
}

// stripSVG draws one strip of pts, step apart, with a title per slot
// saying its time span and state; summary counts the slots that were not
// healthy.
func stripSVG(title string, pts []Point, step time.Duration, loc *time.Location, now time.Time) (svg template.HTML, summary string) {
	var b strings.Builder
	n := max(len(pts), 1)
	b.WriteString(`<svg class="strip" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + itoa(n) + ` ` + itoa(stripHeight) +
		`" preserveAspectRatio="none" width="100%" height="22" role="img" aria-label="` + html.EscapeString(title) + `">`)
	b.WriteString(`<title>` + html.EscapeString(title) + `</title>`)
	counts := map[slotKind]int{}
	for i, pt := range pts {
		k := slotKindOf(pt)
		counts[k]++
		tip := formatClock(pt.T, now)
		if step > 0 {
			tip += "–" + formatClock(pt.T.Add(step), now)
		}
		switch {
		case k == slotUnknown:
			tip += ": no data"
		case k == slotDown:
			tip += ": down (" + pt.State + ")"
		default:
			tip += ": " + pt.State
		}
		if k != slotUnknown && !pt.ErrorRateMissing {
			tip += ", " + formatRatio(pt.ErrorRate) + " errors"
		}
		b.WriteString(`<rect class="slot slot-` + string(k) + `" data-state="` + string(k) + `" x="` + itoa(i) + `" y="0" width="1" height="` +
			itoa(stripHeight) + `" fill="` + slotColors[k] + `"><title>` + html.EscapeString(tip) + `</title></rect>`)
	}
	b.WriteString(`</svg>`)
	var parts []string
	for _, k := range []slotKind{slotDown, slotDegraded, slotUnknown} {
		if c := counts[k]; c > 0 {
			parts = append(parts, itoa(c)+" "+string(k))
		}
	}
	switch {
	case len(pts) == 0:
		summary = "no data"
	case len(parts) == 0:
		summary = "all " + itoa(len(pts)) + " healthy"
	default:
		summary = strings.Join(parts, ", ") + " of " + itoa(len(pts))
	}
	return template.HTML(b.String()), summary // every interpolated string above is escaped
}
