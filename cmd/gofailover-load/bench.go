package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// Targets from the product issue.
const (
	smallGoal   = 1.0 // gofailover req/s over the file server's, .info and .mod
	zipGoal     = 0.9 // gofailover MiB/s over the file server's, zips
	idleGoalMiB = 40  // gofailover's idle VmRSS
	bigGoalMiB  = 100 // gofailover's VmRSS while -big-clients download the big zip
)

// sumdbName names the hermetic checksum database; it is never resolved, as
// gofailover is given its URL on 127.0.0.1.
const sumdbName = "sumdb.gofailover-load.test"

// bench is one run of the load command.
type bench struct {
	opts     *options
	progress *progress
	fx       *fixtureSet
	gf, fsrv *child
	notes    []string
}

// target is a throughput target being measured.
type target struct {
	fx      *fixture
	clients int
	metric  string // "req/s" or "MiB/s"
	goal    float64
	runs    map[string][]runResult // by server name, one per trial
}

// bigRun is one simultaneous download of the big zip by one server.
type bigRun struct {
	result  runResult
	before  int64 // VmRSS just before the download
	peak    int64 // largest sampled VmRSS
	samples int
	hwm     int64 // VmHWM afterwards (reset just before)
	err     string
}

func (b *bench) notef(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

// run does the whole measurement and returns the report. An error means the
// run could not be completed.
func (b *bench) run(ctx context.Context) (rep *Report, err error) {
	o := b.opts
	began := time.Now()
	loadStart := loadAverage()
	root := o.src
	if root == "" {
		if root, err = findModuleRoot(); err != nil {
			return nil, err
		}
	}
	work, err := os.MkdirTemp("", "gofailover-load-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		b.progress.logf("work directory: %s (kept)", work)
	} else {
		defer os.RemoveAll(work)
	}
	home := filepath.Join(work, "home")
	tree := filepath.Join(work, "files")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}

	b.progress.logf("building gofailover (go build ./cmd/gofailover in %s)", root)
	bin, err := buildGofailover(ctx, root, work)
	if err != nil {
		return nil, err
	}
	b.progress.logf("building fixtures: .info, .mod, zips of %s, big zip of %s", sizesList(o.zipSizes), formatSize(o.bigSize))
	if b.fx, err = buildFixtures(o.zipSizes, o.bigSize); err != nil {
		return nil, err
	}
	if err := b.fx.writeTree(tree, o.writeChunk); err != nil {
		return nil, fmt.Errorf("writing the file server's tree: %w", err)
	}

	// A hermetic checksum database, served by the mirror, so that gofailover
	// verifies the .mod and .zip fixtures as it would public modules.
	db, err := mirrortest.NewSumDB(sumdbName, b.fx.modules)
	if err != nil {
		return nil, err
	}
	mirror := mirrortest.NewMirror(db, b.fx.modules...)
	defer mirror.Close()
	sumdb := db.VerifierKey + " " + mirror.URL() + "/sumdb/" + db.Name
	if b.gf, err = startGofailover(ctx, bin, home, filepath.Join(work, "cache"), mirror.URL(), sumdb, o.childEnv); err != nil {
		return nil, err
	}
	defer b.gf.stop()
	if b.fsrv, err = startFileServer(ctx, home, tree, o.timeout+time.Minute, o.baseline == "memory"); err != nil {
		return nil, err
	}
	defer b.fsrv.stop()
	b.progress.logf("gofailover pid %d at %s; baseline (%s) pid %d at %s; mirror %s",
		b.gf.pid, b.gf.url, o.baseline, b.fsrv.pid, b.fsrv.url, mirror.URL())

	b.progress.logf("warming gofailover's cache and checking both servers' answers")
	if err := b.warm(ctx); err != nil {
		return nil, err
	}
	mirror.Close()
	b.fx.modules = nil // the mirror held the only other reference to the module bytes
	runtime.GC()
	if err := b.checkHits(ctx); err != nil {
		return nil, err
	}

	b.progress.logf("mirror closed; settling %v before the idle memory reading", o.settle)
	idle, err := b.idleMemory(ctx)
	if err != nil {
		return nil, err
	}

	targets := []*target{
		{fx: b.fx.info, clients: o.clients, metric: "req/s", goal: smallGoal},
		{fx: b.fx.mod, clients: o.clients, metric: "req/s", goal: smallGoal},
	}
	for _, z := range b.fx.zips {
		targets = append(targets, &target{fx: z, clients: o.zipClients, metric: "MiB/s", goal: zipGoal})
	}
	bigRuns := map[string][]bigRun{}
	est := time.Duration(o.trials) * (time.Duration(2*len(targets))*o.duration + 4*time.Second)
	b.progress.logf("measuring: %d trials × %d targets × 2 servers × %v, plus the big download (about %v)",
		o.trials, len(targets), o.duration, est.Round(time.Second))
	for t := range o.trials {
		order := []*child{b.gf, b.fsrv}
		if t%2 == 1 {
			order = []*child{b.fsrv, b.gf}
		}
		for _, tg := range targets {
			for _, c := range order {
				runtime.GC() // the load generator's garbage stays out of the next run
				r := runLoad(ctx, loadSpec{
					url:      c.url + tg.fx.path,
					fx:       tg.fx,
					clients:  tg.clients,
					duration: o.duration,
					prime:    true,
					wantHit:  c == b.gf,
				})
				if tg.runs == nil {
					tg.runs = map[string][]runResult{}
				}
				tg.runs[c.name] = append(tg.runs[c.name], r)
				b.progress.logf("trial %d/%d  %-10s %-10s %9.0f req/s %8.1f MiB/s%s",
					t+1, o.trials, tg.fx.name, c.name, r.reqPerSec(), r.mibPerSec(), errorNote(r))
			}
		}
		for _, c := range order {
			runtime.GC()
			br := b.bigDownload(ctx, c)
			bigRuns[c.name] = append(bigRuns[c.name], br)
			b.progress.logf("trial %d/%d  %-10s %-10s %d clients at once: %.2fs, %.0f MiB/s, VmRSS %.1f MiB before, peak %.1f MiB (%d samples), VmHWM %.1f MiB%s",
				t+1, o.trials, "big zip", c.name, o.bigClients, br.result.elapsed.Seconds(), br.result.mibPerSec(),
				mib(br.before), mib(br.peak), br.samples, mib(br.hwm), errorNote(br.result))
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("run cut short in trial %d: %w", t+1, err)
		}
		for _, c := range []*child{b.gf, b.fsrv} {
			if err := c.alive(); err != nil {
				return nil, err
			}
		}
	}

	b.progress.logf("settling %v before the after-load memory reading", o.settle)
	after, err := b.idleMemory(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range []*child{b.gf, b.fsrv} {
		if code := c.stop(); code != 0 {
			b.notef("%s exited with status %d on SIGTERM; last output:\n%s", c.name, code, c.out)
		}
		if n, lines := c.out.warnings(); n > 0 {
			b.notef("%s logged %d warning/error lines, last ones:\n  %s", c.name, n, strings.Join(lines, "\n  "))
		}
	}
	settings := Settings{
		GoVersion:       runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		NumCPU:          runtime.NumCPU(),
		Trials:          o.trials,
		DurationSeconds: o.duration.Seconds(),
		Clients:         o.clients,
		ZipClients:      o.zipClients,
		BigClients:      o.bigClients,
		BigZipBytes:     b.fx.big.size,
		SettleSeconds:   o.settle.Seconds(),
		FileWriteChunk:  o.writeChunk,
		Baseline:        o.baseline,
		GofailoverEnv:   o.childEnv,
		LoadAvgStart:    loadStart,
		LoadAvgEnd:      loadAverage(),
		ElapsedSeconds:  time.Since(began).Seconds(),
	}
	return buildReport(settings, targets, idle, after, bigRuns, b.notes), nil
}

// errorNote describes a run's errors and misses for a progress line.
func errorNote(r runResult) string {
	if r.errors == 0 && r.misses == 0 {
		return ""
	}
	return fmt.Sprintf("  (%d errors, %d non-hits; first: %s)", r.errors, r.misses, r.firstErr)
}

// fetchSum downloads url and returns the status, cache header, length and
// SHA-256 of the body.
func fetchSum(ctx context.Context, client *http.Client, url string) (status int, cache string, n int64, sum [32]byte, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", 0, sum, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", 0, sum, err
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err = io.Copy(h, resp.Body)
	h.Sum(sum[:0])
	return resp.StatusCode, resp.Header.Get(cacheHeader), n, sum, err
}

// check fetches one fixture from one server and compares it with the fixture.
func check(ctx context.Context, client *http.Client, c *child, fx *fixture, wantCache string) error {
	status, cache, n, sum, err := fetchSum(ctx, client, c.url+fx.path)
	switch {
	case err != nil:
		return fmt.Errorf("%s: GET %s: %w", c.name, fx.path, err)
	case status != http.StatusOK:
		return fmt.Errorf("%s: GET %s: status %d; server output:\n%s", c.name, fx.path, status, c.out)
	case n != fx.size || sum != fx.sum:
		return fmt.Errorf("%s: GET %s: body of %d bytes differs from the %d-byte fixture", c.name, fx.path, n, fx.size)
	case wantCache != "" && cache != wantCache:
		return fmt.Errorf("%s: GET %s: %s is %q, want %q", c.name, fx.path, cacheHeader, cache, wantCache)
	}
	return nil
}

// warm fetches every fixture from gofailover twice (a miss that fills the
// cache, unless a prefetch did, then a hit) and once from the file server, checking every byte.
func (b *bench) warm(ctx context.Context) error {
	tr := newTransport(1)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: requestTimeout}
	for _, fx := range b.fx.all() {
		// A miss, or a hit when gofailover prefetched it (a .mod after
		// its .info).
		if err := check(ctx, client, b.gf, fx, ""); err != nil {
			return fmt.Errorf("warming: %w", err)
		}
		if err := check(ctx, client, b.gf, fx, "hit"); err != nil {
			return fmt.Errorf("warming: %w", err)
		}
		if err := check(ctx, client, b.fsrv, fx, ""); err != nil {
			return fmt.Errorf("checking the baseline server: %w", err)
		}
	}
	return nil
}

// checkHits shows, with the mirror closed, that gofailover answers every
// fixture from its cache.
func (b *bench) checkHits(ctx context.Context) error {
	tr := newTransport(1)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: requestTimeout}
	for _, fx := range b.fx.all() {
		if err := check(ctx, client, b.gf, fx, "hit"); err != nil {
			return fmt.Errorf("with the mirror closed: %w", err)
		}
	}
	return nil
}

// idleMemory waits opts.settle and reads both servers' memory.
func (b *bench) idleMemory(ctx context.Context) (map[string]procMemory, error) {
	select {
	case <-time.After(b.opts.settle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	out := map[string]procMemory{}
	for _, c := range []*child{b.gf, b.fsrv} {
		m, err := readMemory(c.pid)
		if err != nil {
			return nil, fmt.Errorf("reading %s's memory: %w", c.name, err)
		}
		out[c.name] = m
	}
	return out, nil
}

// bigDownload has opts.bigClients clients download the big zip from c at
// once, sampling c's VmRSS meanwhile, and reads VmHWM after (reset before).
func (b *bench) bigDownload(ctx context.Context, c *child) bigRun {
	var br bigRun
	if err := resetPeak(c.pid); err != nil {
		br.err = fmt.Sprintf("resetting VmHWM: %v", err)
	}
	if m, err := readMemory(c.pid); err == nil {
		br.before = m.rss
	}
	s := startSampler(c.pid, b.opts.sampleEvery)
	br.result = runLoad(ctx, loadSpec{
		url:     c.url + b.fx.big.path,
		fx:      b.fx.big,
		clients: b.opts.bigClients,
		wantHit: c == b.gf,
	})
	peak, n, err := s.finish()
	br.peak, br.samples = peak, n
	if err != nil && br.err == "" {
		br.err = fmt.Sprintf("sampling VmRSS: %v", err)
	}
	if m, err := readMemory(c.pid); err == nil {
		br.hwm = m.hwm
		br.peak = max(br.peak, m.rss)
	} else if br.err == "" {
		br.err = fmt.Sprintf("reading VmHWM: %v", err)
	}
	return br
}

// loadAverage returns the first three fields of /proc/loadavg, or "".
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// sizesList formats sizes as "1MiB, 40MiB".
func sizesList(sizes []int64) string {
	s := make([]string, len(sizes))
	for i, n := range sizes {
		s[i] = formatSize(n)
	}
	return strings.Join(s, ", ")
}

// progress writes timestamped progress lines to stderr.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func newProgress(w io.Writer) *progress { return &progress{w: w, start: time.Now()} }

func (p *progress) logf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%6.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}
