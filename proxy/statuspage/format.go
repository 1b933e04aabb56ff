package statuspage

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file turns numbers and times into the short text that the page and
// the terminal show.

// dash stands for a value that is not known.
const dash = "–"

// formatAge is the time from t to now, coarsely: "45s", "5m", "2h 13m",
// "3d 4h". Times after now count as zero.
func formatAge(t, now time.Time) string {
	d := now.Sub(t)
	if t.IsZero() {
		return dash
	}
	return formatSpan(d)
}

// formatSpan is a duration with its two largest units.
func formatSpan(d time.Duration) string {
	if d < time.Second {
		return "0s"
	}
	s := int64(d / time.Second)
	days, hours, mins, secs := s/86400, s/3600%24, s/60%60, s%60
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%dh", hours)
	case mins > 0:
		return fmt.Sprintf("%dm", mins)
	}
	return fmt.Sprintf("%ds", secs)
}

// formatTime is an absolute time in loc, with its zone.
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return dash
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// formatClock is a short absolute time in now's location: the time of day
// when t falls on now's day, otherwise the date too.
func formatClock(t, now time.Time) string {
	if t.IsZero() {
		return dash
	}
	t = t.In(now.Location())
	if y, m, d := t.Date(); now.Year() == y && now.Month() == m && now.Day() == d {
		return t.Format("15:04:05")
	}
	if t.Year() == now.Year() {
		return t.Format("Jan 2 15:04")
	}
	return t.Format("2006-01-02 15:04")
}

// formatMinute is a time to the minute in now's location, with the date
// when t falls on another day: "11:00", "Mar 9 12:00".
func formatMinute(t, now time.Time) string {
	t = t.In(now.Location())
	if y, m, d := t.Date(); now.Year() == y && now.Month() == m && now.Day() == d {
		return t.Format("15:04")
	}
	return t.Format("Jan 2 15:04")
}

// formatSeconds is a latency: "0.4 ms", "120 ms", "1.25 s".
func formatSeconds(s float64) string {
	switch {
	case !isFinite(s) || s < 0:
		return dash
	case s < 0.001 && s > 0:
		return strconv.FormatFloat(s*1000, 'f', 1, 64) + " ms"
	case s < 1:
		return strconv.FormatFloat(math.Round(s*1000), 'f', 0, 64) + " ms"
	case s < 100:
		return strconv.FormatFloat(s, 'f', 2, 64) + " s"
	}
	return formatSpan(time.Duration(min(s, 1e9) * float64(time.Second)))
}

// formatRatio is a share from 0 to 1 as a percentage: "0%", "<0.1%",
// "2.5%", "37%", ">99%", "100%".
func formatRatio(r float64) string {
	switch {
	case !isFinite(r):
		return dash
	case r <= 0:
		return "0%"
	case r < 0.001:
		return "<0.1%"
	case r < 0.1:
		return strconv.FormatFloat(r*100, 'f', 1, 64) + "%"
	case r < 0.995:
		return strconv.FormatFloat(r*100, 'f', 0, 64) + "%"
	case r < 1:
		return ">99%"
	}
	return strconv.FormatFloat(r*100, 'f', 0, 64) + "%"
}

// formatValue is an alert's value or threshold in its unit.
func formatValue(v float64, unit string) string {
	switch unit {
	case "seconds":
		return formatSeconds(v)
	case "ratio":
		return formatRatio(v)
	}
	return strconv.FormatFloat(finite(v), 'g', 4, 64)
}

// formatBytes is a size with a binary unit: "512 B", "1.5 MiB".
func formatBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	unit := ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"} {
		v, unit = v/1024, u
		if v < 1024 {
			break
		}
	}
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " " + unit
}

// formatCount is a count with thousands separated: "1,234,567".
func formatCount(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// oneLine is s cut at its first line break and to at most n runes.
func oneLine(s string, n int) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
