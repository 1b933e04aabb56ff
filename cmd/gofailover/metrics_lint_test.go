package main

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"golang.org/x/mod/module"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// scrapeLinted returns the body of GET url/metrics, failing t on any
// problem promlint (the linter of promtool check metrics) finds in it.
func scrapeLinted(t *testing.T, url string) string {
	t.Helper()
	status, body := httpGet(t, url+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", status, body)
	}
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("promlint: parsing /metrics: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	return string(body)
}

// TestMetricsPassPromlint: the /metrics of a running gofailover, with a
// public pool of a dead and a good mirror and a private pool, passes
// promlint on its first scrape and after traffic. From the first scrape,
// every upstream's request counters, first-byte histograms and
// verification failures exist, and so does gofailover_build_info; no gauge
// has a quantile label, and the dead mirror's latency is absent, not 0.
func TestMetricsPassPromlint(t *testing.T) {
	mods, db := fixtures(t)
	good := mirrortest.NewMirror(db, mods...)
	private := mirrortest.NewMirror(nil)
	defer good.Close()
	defer private.Close()
	dead := mirrortest.ClosedURL(t)
	url := startServer(t, t.TempDir(), db, []string{dead, good.URL()},
		"GOFAILOVER_PRIVATE=corp.example/*", "GOFAILOVER_PRIVATE_UPSTREAMS="+private.URL())

	first := scrapeLinted(t, url)
	for _, u := range []struct{ pool, url string }{{"public", dead}, {"public", good.URL()}, {"private", private.URL()}} {
		for _, source := range []string{"request", "probe"} {
			for _, want := range []string{
				fmt.Sprintf(`gofailover_upstream_requests_total{failure="none",outcome="success",pool=%q,source=%q,upstream=%q} `, u.pool, source, u.url),
				fmt.Sprintf(`gofailover_upstream_requests_total{failure="refused",outcome="failure",pool=%q,source=%q,upstream=%q} `, u.pool, source, u.url),
				fmt.Sprintf(`gofailover_upstream_first_byte_seconds_count{pool=%q,source=%q,upstream=%q} `, u.pool, source, u.url),
			} {
				if !strings.Contains(first, want) {
					t.Errorf("the first scrape lacks %s", want)
				}
			}
		}
		want := fmt.Sprintf(`gofailover_verification_failures_total{pool=%q,upstream=%q} 0`, u.pool, u.url)
		if !strings.Contains(first, want) {
			t.Errorf("the first scrape lacks %s", want)
		}
	}
	buildInfo := regexp.MustCompile(`(?m)^gofailover_build_info\{goversion="go[^"]+",revision="[^"]+",version="[^"]+"\} 1$`)
	if !buildInfo.MatchString(first) {
		t.Errorf("no gofailover_build_info{goversion,revision,version} 1 in:\n%s", grepLines(first, "gofailover_build_info"))
	}

	m := mods[0]
	path, err := module.EscapePath(m.Path)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := httpGet(t, url+"/"+path+"/@v/"+m.Version+".info"); status != http.StatusOK {
		t.Fatalf("GET %s@%s .info: %d %s", m.Path, m.Version, status, body)
	}
	after := scrapeLinted(t, url)
	if regexp.MustCompile(`(?m)^gofailover_[^ {]*\{[^}]*quantile=`).MatchString(after) {
		t.Errorf("a gofailover metric has a quantile label:\n%s", grepLines(after, "quantile="))
	}
	for _, p := range []string{"p50", "p95", "p99"} {
		name := "gofailover_upstream_latency_" + p + "_seconds"
		if line := fmt.Sprintf(`%s{pool="public",upstream=%q}`, name, dead); strings.Contains(after, line) {
			t.Errorf("the dead mirror has a latency, want none (unknown): %s", grepLines(after, line))
		}
		if line := fmt.Sprintf(`%s{pool="public",upstream=%q}`, name, good.URL()); !strings.Contains(after, line) {
			t.Errorf("the good mirror has no %s after serving", name)
		}
	}
}

// grepLines returns the lines of text that contain s.
func grepLines(text, s string) string {
	var out []string
	for line := range strings.Lines(text) {
		if strings.Contains(line, s) {
			out = append(out, strings.TrimSuffix(line, "\n"))
		}
	}
	return strings.Join(out, "\n")
}
