package statuspage

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// requireBrowserEnv makes the browser test fail, rather than skip, without
// a browser; .ci/run sets it.
const requireBrowserEnv = "GOFAILOVER_REQUIRE_BROWSER"

// findBrowser returns the path of a Chromium-based browser, or skips the
// test loudly when there is none (fails it under
// GOFAILOVER_REQUIRE_BROWSER=1).
func findBrowser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	mirrortest.MissingComponent(t, &skipped, requireBrowserEnv, "the status page's browser test",
		"no chromium, chromium-browser or google-chrome on PATH (apt-get install chromium)")
	return ""
}

// pageFacts is what the browser test reads from the rendered page.
type pageFacts struct {
	Rows []struct {
		Name  string `json:"name"`
		State string `json:"state"`
		Badge string `json:"badge"`
	} `json:"rows"`
	Plots []struct {
		Title   string  `json:"title"`
		Width   float64 `json:"width"`
		Height  float64 `json:"height"`
		Visible bool    `json:"visible"`
		Series  int     `json:"series"`
		Paths   int     `json:"paths"`
		// Runs counts each line's runs (moves in its path), by label.
		Runs map[string]int `json:"runs"`
		// Clipped lists the labels drawn outside the plot.
		Clipped []string `json:"clipped"`
	} `json:"plots"`
	Strips []struct {
		Upstream string `json:"upstream"`
		Ranges   []struct {
			Width  float64  `json:"width"`
			Height float64  `json:"height"`
			Slots  int      `json:"slots"`
			Titled int      `json:"titled"`
			Kinds  []string `json:"kinds"`
			Last   string   `json:"last"`
			Tip    string   `json:"tip"`
		} `json:"ranges"`
	} `json:"strips"`
	// URLBreaks lists the URLs shown broken elsewhere than after a "/".
	URLBreaks    []string `json:"urlBreaks"`
	Legend       []string `json:"legend"`
	Alerts       []string `json:"alerts"`
	ScrollWidth  float64  `json:"scrollWidth"`
	InnerWidth   float64  `json:"innerWidth"`
	WrapOverflow bool     `json:"wrapOverflow"`
}

// readPageFacts is the script that gathers pageFacts.
const readPageFacts = `(() => {
  const visible = (el) => {
    const s = getComputedStyle(el);
    return s.display !== "none" && s.visibility === "visible" && Number(s.opacity) > 0;
  };
  return {
    rows: [...document.querySelectorAll("#upstreams tbody tr.upstream")].map((tr) => ({
      name: tr.querySelector("td.name").textContent.replace("preferred", "").trim(),
      state: tr.dataset.state,
      badge: tr.querySelector(".badge").textContent.trim(),
    })),
    plots: [...document.querySelectorAll("svg.plot")].map((svg) => {
      const r = svg.getBoundingClientRect();
      return {
        title: svg.getAttribute("aria-label"),
        width: r.width, height: r.height, visible: visible(svg),
        series: svg.querySelectorAll("g.series").length,
        paths: svg.querySelectorAll("g.series path").length,
        runs: Object.fromEntries([...svg.querySelectorAll("g.series")].map((g) =>
          [g.dataset.label, [...g.querySelectorAll("path")].reduce((n, p) => n + (p.getAttribute("d").match(/M/g) || []).length, 0)])),
        clipped: [...svg.querySelectorAll("text")].filter((t) => {
          const b = t.getBoundingClientRect();
          const box = (svg.closest("figure") || svg).getBoundingClientRect();
          return b.width > 0 && (b.left < Math.max(r.left, box.left) - 0.5 || b.right > Math.min(r.right, box.right) + 0.5 ||
            b.left < -0.5 || b.right > window.innerWidth + 0.5);
        }).map((t) => t.textContent),
      };
    }),
    strips: [...document.querySelectorAll("#availability .avail")].map((div) => ({
      upstream: div.dataset.upstream,
      ranges: [...div.querySelectorAll("svg.strip")].map((svg) => {
        const r = svg.getBoundingClientRect();
        const slots = [...svg.querySelectorAll("rect.slot")];
        return {
          width: r.width, height: r.height, slots: slots.length,
          titled: slots.filter((s) => s.querySelector("title") && s.querySelector("title").textContent !== "").length,
          kinds: [...new Set(slots.map((s) => s.dataset.state))].sort(),
          last: slots.length ? slots[slots.length - 1].dataset.state : "",
          tip: slots.length ? slots[slots.length - 1].querySelector("title").textContent : "",
        };
      }),
    })),
    urlBreaks: [...document.querySelectorAll(".url")].flatMap((el) => {
      const bad = [];
      const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      let top = null, prev = "", n;
      while ((n = walk.nextNode())) {
        for (let i = 0; i < n.length; i++) {
          const rg = document.createRange();
          rg.setStart(n, i);
          rg.setEnd(n, i + 1);
          const rects = rg.getClientRects();
          if (!rects.length) continue;
          if (top !== null && rects[0].top > top + 2 && prev !== "/") bad.push(el.textContent + " before " + n.data.slice(i));
          top = rects[0].top;
          prev = n.data[i];
        }
      }
      return bad;
    }),
    legend: [...document.querySelectorAll("#trends .legend li")].map((li) => li.textContent.trim()),
    alerts: [...document.querySelectorAll("#alerts tr.alert")].map((tr) => tr.dataset.state),
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    wrapOverflow: [...document.querySelectorAll(".table-wrap")].some((w) => w.scrollWidth > w.clientWidth),
  };
})()`

// TestStatusPageInBrowser loads the page in headless Chromium at laptop and
// phone sizes, checks what a reader would see, and saves screenshots.
func TestStatusPageInBrowser(t *testing.T) {
	browser := findBrowser(t)
	rep := sampleReport()
	rep.SharedStore = sampleShared(rep.GeneratedAt) // its section must fit a phone too
	srv := httptest.NewServer(Handler(SourceFunc(func(context.Context) (Report, error) { return rep, nil }),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()

	shots := []string{t.TempDir()}
	if dir := os.Getenv("GOFAILOVER_SCREENSHOT_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("creating GOFAILOVER_SCREENSHOT_DIR: %v", err)
		}
		shots = append(shots, dir)
	}

	for _, view := range []struct {
		name          string
		width, height int64
		opts          []chromedp.EmulateViewportOption
	}{
		{"laptop", 1366, 900, nil},
		{"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait}},
	} {
		err := chromedp.Do(tab,
			chromedp.EmulateViewport(view.width, view.height, view.opts...),
			chromedp.Navigate(srv.URL+"/"),
		)
		if err != nil {
			t.Fatalf("%s: loading the page: %v", view.name, err)
		}
		facts, err := chromedp.Run(tab, chromedp.Evaluate[pageFacts](readPageFacts))
		if err != nil {
			t.Fatalf("%s: reading the page: %v", view.name, err)
		}
		checkPageFacts(t, view.name, rep, facts)
		if view.name == "phone" && facts.ScrollWidth > facts.InnerWidth {
			t.Errorf("phone: the page is %v px wide in a %v px viewport: it scrolls sideways", facts.ScrollWidth, facts.InnerWidth)
		}

		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", view.name, err)
		}
		for _, dir := range shots {
			path := filepath.Join(dir, "statuspage-"+view.name+".png")
			if err := os.WriteFile(path, png, 0o644); err != nil {
				t.Fatalf("writing screenshot: %v", err)
			}
			t.Logf("%s screenshot: %s", view.name, path)
		}
	}
}

// checkPageFacts checks the page a browser rendered for rep.
func checkPageFacts(t *testing.T, view string, rep Report, f pageFacts) {
	t.Helper()
	if len(f.Rows) != len(rep.Upstreams) {
		t.Fatalf("%s: %d upstream rows, want %d", view, len(f.Rows), len(rep.Upstreams))
	}
	for i, u := range rep.Upstreams {
		row := f.Rows[i]
		if row.Name != u.Name || row.State != u.State || row.Badge != u.State {
			t.Errorf("%s: row %d = %+v, want name %q, state and badge %q", view, i, row, u.Name, u.State)
		}
	}

	// Per range: latency p50, p95 and p99, error rate, traffic share;
	// one line per upstream in each.
	n := len(rep.Upstreams)
	wantSeries := slices.Repeat([]int{n}, 10)
	if len(f.Plots) != len(wantSeries) {
		t.Fatalf("%s: %d plots, want %d", view, len(f.Plots), len(wantSeries))
	}
	for i, p := range f.Plots {
		if !p.Visible || p.Width <= 0 || p.Height <= 0 {
			t.Errorf("%s: plot %q is not visible: %+v", view, p.Title, p)
		}
		if p.Series != wantSeries[i] || p.Paths != wantSeries[i] {
			t.Errorf("%s: plot %q has %d series and %d lines, want %d", view, p.Title, p.Series, p.Paths, wantSeries[i])
		}
	}
	if len(f.URLBreaks) > 0 {
		t.Errorf("%s: URLs broken elsewhere than after a slash: %q", view, f.URLBreaks)
	}
	for i, p := range f.Plots {
		if len(p.Clipped) > 0 {
			t.Errorf("%s: plot %q has labels drawn outside it: %q", view, p.Title, p.Clipped)
		}
		// Mirror B's history has a gap in the middle and no latency at
		// the end: its latency lines break, its error rate does not.
		if i < 6 && p.Runs[mirrorB] < 2 {
			t.Errorf("%s: plot %q draws mirror B in %d runs, want a gap", view, p.Title, p.Runs[mirrorB])
		}
	}
	// The availability strips: per upstream and range, one titled slot
	// per point; mirror B ends down, A is healthy throughout.
	if len(f.Strips) != len(rep.Upstreams) {
		t.Fatalf("%s: %d availability strips, want %d", view, len(f.Strips), len(rep.Upstreams))
	}
	for i, s := range f.Strips {
		if s.Upstream != rep.Upstreams[i].Name || len(s.Ranges) != len(rep.Ranges) {
			t.Errorf("%s: strip %d = %+v, want %s over %d ranges", view, i, s, rep.Upstreams[i].Name, len(rep.Ranges))
			continue
		}
		for j, sr := range s.Ranges {
			want := len(rep.Ranges[j].Series[i].Points)
			if sr.Slots != want || sr.Titled != want || sr.Width < 100 || sr.Height <= 0 {
				t.Errorf("%s: strip of %s over %s: %d slots (%d titled), %vx%v px; want %d titled slots, visible",
					view, s.Upstream, rep.Ranges[j].Name, sr.Slots, sr.Titled, sr.Width, sr.Height, want)
			}
			switch s.Upstream {
			case mirrorA:
				if !slices.Equal(sr.Kinds, []string{"healthy"}) {
					t.Errorf("%s: mirror A's strip over %s has %q, want only healthy", view, rep.Ranges[j].Name, sr.Kinds)
				}
			case mirrorB:
				if !slices.Equal(sr.Kinds, []string{"degraded", "down", "healthy", "unknown"}) || sr.Last != "down" ||
					!strings.Contains(sr.Tip, "down (") {
					t.Errorf("%s: mirror B's strip over %s has %q, last %s (%q); want every kind, ending down", view,
						rep.Ranges[j].Name, sr.Kinds, sr.Last, sr.Tip)
				}
			}
		}
	}
	for _, u := range rep.Upstreams {
		if !slices.Contains(f.Legend, u.Name) {
			t.Errorf("%s: legend %q lacks %s", view, f.Legend, u.Name)
		}
	}
	if got := strings.Join(f.Alerts, ","); got != "firing,pending,resolved" {
		t.Errorf("%s: alerts in order %s, want firing,pending,resolved", view, got)
	}
}
