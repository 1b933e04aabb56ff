package statuspage

import (
	"strings"
	"testing"
	"time"
)

// TestPageDetails: URLs break only after a slash, singular and plural
// agree, a pool-wide alert names no upstream, and half-open is called so.
func TestPageDetails(t *testing.T) {
	if got, want := string(urlHTML("https://proxy.corp-1.example.net/go/<x>")),
		`<span class="url"><span>https://</span><wbr><span>proxy.corp-1.example.net/</span><wbr><span>go/</span><wbr><span>&lt;x&gt;</span></span>`; got != want {
		t.Errorf("urlHTML = %s, want %s", got, want)
	}
	now := sampleNow()
	one := Report{
		GeneratedAt: now,
		Upstreams:   []Upstream{{Name: mirrorA, Health: Health{State: "healthy", Since: now.Add(-time.Hour)}}},
		Alerts:      []Alert{{Rule: "latency_high", Upstream: mirrorA, Severity: "P2", State: "firing", Since: now.Add(-time.Minute)}},
	}
	if v := verdict(one); v.Headline != "The upstream is healthy, 1 alert firing" {
		t.Errorf("one upstream, one alert: headline %q", v.Headline)
	}
	down := Report{
		GeneratedAt: now,
		Upstreams:   []Upstream{{Name: mirrorA, Health: Health{State: "half-open", Since: now.Add(-time.Minute), EpisodeSince: now.Add(-13 * time.Minute)}}},
		Alerts: []Alert{{Rule: "all_upstreams_down", Severity: "P0", State: "firing", Since: now.Add(-13 * time.Minute),
			FiredAt: now.Add(-12 * time.Minute)}},
	}
	v := verdict(down)
	if want := mirrorA + " half-open, down for 13m"; len(v.Details) == 0 || v.Details[0] != want {
		t.Errorf("details %q, want %q first", v.Details, want)
	}
	rows := alertRows(down.Alerts, now)
	if len(rows) != 1 || rows[0].Upstream != dash || rows[0].When != "11:47:00 (for 13m)" {
		t.Errorf("pool-wide alert row = %+v, want no upstream, for 13m", rows)
	}
	page, err := renderPage(sanitized(down))
	if err != nil {
		t.Fatal(err)
	}
	body := string(page)
	for _, bad := range []string{">server<", "is down (open)", "upstreams are down"} {
		if strings.Contains(body, bad) {
			t.Errorf("page has %q", bad)
		}
	}
	for _, want := range []string{"down since 11:47:00", "half-open since 11:59:00"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
