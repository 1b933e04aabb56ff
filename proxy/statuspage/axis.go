package statuspage

import (
	"math"
	"strconv"
	"time"
)

// This file chooses the ticks and labels of a plot's axes.

// tick is one labelled position on an axis.
type tick[T any] struct {
	At    T
	Label string
}

// plotUnit says what a plot's values measure and how its y axis labels
// them.
type plotUnit int

const (
	// unitSeconds values are durations in seconds, labelled in ms or s.
	unitSeconds plotUnit = iota
	// unitRatio values are shares from 0 to 1, labelled as percentages.
	unitRatio
)

// Bounds of the y axis: values are drawn between 0 and a top chosen from
// the largest value, at least minTop and at most maxTop.
const (
	minTop = 1e-6
	maxTop = 1e9
)

// valueTicks returns the y axis for values up to max: its top and its
// ticks from 0, at a round step.
func valueTicks(max float64, unit plotUnit) (top float64, ticks []tick[float64]) {
	switch {
	case !(max >= minTop): // also NaN
		max = 0.1
		if unit == unitRatio {
			max = 1
		}
	case max > maxTop:
		max = maxTop
	}
	step := niceStep(max / 4)
	n := math.Ceil(max/step - 1e-9)
	top = n * step
	for i := 0.0; i <= n; i++ {
		ticks = append(ticks, tick[float64]{At: i * step, Label: valueLabel(i*step, top, unit)})
	}
	return top, ticks
}

// niceStep returns the smallest of 1, 2, 2.5 and 5 times a power of ten
// that is at least x, for x > 0.
func niceStep(x float64) float64 {
	p := math.Pow10(int(math.Floor(math.Log10(x))))
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*p >= x*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// valueLabel labels the y value v of an axis that ends at top.
func valueLabel(v, top float64, unit plotUnit) string {
	switch {
	case unit == unitRatio:
		return roundLabel(v*100) + "%"
	case top < 1:
		return roundLabel(v*1000) + " ms"
	}
	return roundLabel(v) + " s"
}

// roundLabel prints x without the noise of binary fractions.
func roundLabel(x float64) string {
	return strconv.FormatFloat(math.Round(x*1e6)/1e6, 'f', -1, 64)
}

// maxTimeTicks is the most ticks the time axis gets.
const maxTimeTicks = 7

// timeTicks returns the ticks of a time axis from from to to (from before
// to), at a round spacing aligned on midnight in loc.
func timeTicks(from, to time.Time, loc *time.Location) []tick[time.Time] {
	span := to.Sub(from)
	step := time.Duration(0)
	for _, s := range [...]time.Duration{ // the round spacings, shortest first
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	} {
		if span/s < maxTimeTicks {
			step = s
			break
		}
	}
	if step == 0 { // longer than a week: whole days
		const day = 24 * time.Hour
		step = (span/(maxTimeTicks-1) + day - 1) / day * day
	}
	f := from.In(loc)
	midnight := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc)
	first := midnight.Add((f.Sub(midnight) + step - 1) / step * step)
	var ticks []tick[time.Time]
	for t := first; !t.After(to) && len(ticks) <= maxTimeTicks; t = t.Add(step) {
		ticks = append(ticks, tick[time.Time]{At: t, Label: timeLabel(t.In(loc), step, span)})
	}
	return ticks
}

// timeLabel labels a tick at t on an axis with ticks step apart over span.
func timeLabel(t time.Time, step, span time.Duration) string {
	switch {
	case span > 180*24*time.Hour:
		return t.Format("2006-01-02")
	case step >= 24*time.Hour || t.Hour() == 0 && t.Minute() == 0:
		return t.Format("Jan 2")
	}
	return t.Format("15:04")
}
