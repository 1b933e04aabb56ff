package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/mirrortest"
	"github.com/gofailover/gofailover/proxy/statuspage"
)

// The cold-path benchmarks of issue 13 ("faster than talking to the
// mirror"): the go command with an empty module cache, through a fresh
// gofailover with an empty cache directory (started, and ready, before the
// clock starts, stopped after it stops), side by side with the same go
// command talking to the mirror directly (GOPROXY the mirror, GOSUMDB the
// database's key, which the go command then reads through the mirror's
// /sumdb/ as well). The two alternate (mirrortest.SideBySide); each
// reports the median of each in milliseconds and their ratio, gofailover
// over direct. Two mirrors:
//
//   - loopback: the fixture mirror as it is (target: ratio at most 1.2);
//   - wan40ms: the same mirror adding 40 ms before every answer, module
//     files and checksum-database answers alike (mirrortest.Slow; target:
//     ratio at most 0.6).
//
// The module set is mirrortest.ProgramGraph(coldGraphSize): 40 modules of
// real packages importing each other five levels deep, with zips from
// about 10 KB to about 1 MB, and 10 required-but-not-imported modules; some
// 6 MB of zips in all. The database's tree is complete before timing
// starts (mirrortest.PrimeLookups), so it does not grow while runs are
// timed. Each run takes a second or more; run a few:
//
//	go test -run '^$' -bench Cold -benchtime 5x ./cmd/gofailover

// coldGraphSize is the number of imported modules of the cold benchmarks'
// program graph.
const coldGraphSize = 40

// coldWANDelay is what the wan40ms mirror adds to every answer.
const coldWANDelay = 40 * time.Millisecond

// coldFixture is the mirror of a program graph and its database.
type coldFixture struct {
	mods   []*mirrortest.Module
	main   map[string][]byte
	db     *mirrortest.SumDB
	mirror *mirrortest.Mirror
}

// newColdFixture builds the program graph of the cold benchmarks and a
// healthy mirror of it, its database's tree complete.
func newColdFixture(b *testing.B) *coldFixture {
	b.Helper()
	mods, main, err := mirrortest.ProgramGraph(coldGraphSize)
	if err != nil {
		b.Fatal(err)
	}
	db, err := mirrortest.NewSumDB("sumdb.test", mods)
	if err != nil {
		b.Fatal(err)
	}
	mirror := mirrortest.NewMirror(db, mods...)
	b.Cleanup(mirror.Close)
	if err := mirrortest.PrimeLookups(mirror.URL(), db, mods); err != nil {
		b.Fatal(err)
	}
	return &coldFixture{mods: mods, main: main, db: db, mirror: mirror}
}

// coldMirrors are the sub-benchmarks: a name and the mirror's behaviour.
var coldMirrors = []struct {
	name  string
	fault mirrortest.Fault
}{
	{"loopback", mirrortest.Healthy()},
	{"wan40ms", mirrortest.Slow(coldWANDelay)},
}

// freshServer starts a gofailover with an empty cache directory in front
// of upstream, waits until it answers /readyz, and returns its URL and a
// function stopping it. GOFAILOVER_PREFETCH, when set in the benchmark's
// environment, is passed on, to compare what prefetching buys.
func freshServer(b *testing.B, db *mirrortest.SumDB, upstream string) (string, func()) {
	b.Helper()
	var env []string
	if p, ok := os.LookupEnv("GOFAILOVER_PREFETCH"); ok {
		env = append(env, "GOFAILOVER_PREFETCH="+p)
	}
	srv, stop := launchStoppable(b, b.TempDir(), db, []string{upstream}, env...)
	resp, err := http.Get(srv.url() + "/readyz")
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("a fresh gofailover is not ready: %s", resp.Status)
	}
	return srv.url(), stop
}

// sideBySideCold runs goRun b.N times through a fresh gofailover and b.N
// times against the mirror directly, alternating, and reports the medians
// and their ratio.
//
// It also reports what prefetching did in gofailover's runs: the answers
// it fetched ahead, per run, and the share of them the go command never
// asked for (wasted).
//
// And where the platform tells, what the runs cost in CPU time (user and
// system), medians: the go command's (cpu-ms/go-command), the mirror's
// (cpu-ms/mirror: this process during a direct run), and gofailover's
// (cpu-ms/gofailover: this process during a run through it, less the
// mirror's median). With all of it sharing the machine's cores, a run
// through gofailover takes at least the CPU time of the three over the
// number of cores; cpu-bound-ratio is that floor over the direct median,
// the least ratio any scheduling could reach on this machine.
func sideBySideCold(b *testing.B, f *coldFixture, goRun func(proxyURL string) time.Duration) {
	b.Helper()
	b.ResetTimer()
	var prefetched, unasked uint64
	var cpu coldCPU
	mGofailover, mDirect := mirrortest.SideBySide(b.N,
		func(int) time.Duration {
			b.StopTimer()
			url, stop := freshServer(b, f.db, f.mirror.URL())
			b.StartTimer()
			done := cpu.start()
			d := goRun(url)
			done(&cpu.viaSelf)
			b.StopTimer()
			var rep statuspage.Report
			if code, body := httpGet(b, url+"/status.json"); code == http.StatusOK && json.Unmarshal(body, &rep) == nil {
				prefetched += rep.Cache.Prefetched
				unasked += rep.Cache.Prefetched - rep.Cache.PrefetchHits
			}
			stop()
			b.StartTimer()
			return d
		},
		func(int) time.Duration {
			done := cpu.start()
			d := goRun(f.mirror.URL())
			done(&cpu.directSelf)
			return d
		})
	b.StopTimer()
	b.ReportMetric(float64(mGofailover.Milliseconds()), "ms/gofailover")
	b.ReportMetric(float64(mDirect.Milliseconds()), "ms/direct")
	b.ReportMetric(float64(mGofailover)/float64(mDirect), "ratio")
	cpu.report(b, mDirect)
	b.ReportMetric(float64(prefetched)/float64(b.N), "prefetched/run")
	if prefetched > 0 {
		b.ReportMetric(float64(unasked)/float64(prefetched), "prefetch-wasted-share")
	}
}

// BenchmarkColdModDownload times `go mod download` of every module of the
// cold fixture (50 module versions, named on the command line) with an
// empty module cache, through a fresh gofailover and directly; see the
// comment above coldGraphSize.
func BenchmarkColdModDownload(b *testing.B) {
	f := newColdFixture(b)
	args := []string{"mod", "download"}
	for _, m := range f.mods {
		args = append(args, m.Path+"@"+m.Version)
	}
	coldCases(b, f, "", args...)
}

// coldCases runs the go command with args (in dir; a fresh directory when
// empty) side by side through a fresh gofailover and directly, for each
// of coldMirrors.
func coldCases(b *testing.B, f *coldFixture, dir string, args ...string) {
	for _, c := range coldMirrors {
		b.Run(c.name, func(b *testing.B) {
			f.mirror.SetFault(c.fault)
			defer f.mirror.SetFault(mirrortest.Healthy())
			sideBySideCold(b, f, func(proxyURL string) time.Duration {
				env := mirrortest.GoEnv(b, proxyURL, f.db)
				work := dir
				if work == "" {
					work = b.TempDir()
				}
				start := time.Now()
				if out, err := mirrortest.RunGo(b, env, work, args...); err != nil {
					b.Fatalf("go %s through %s: %v\n%s", args[0], proxyURL, err, out)
				}
				return time.Since(start)
			})
		})
	}
}

// BenchmarkColdGoListDeps times `go list -deps ./...` of the cold
// fixture's main module (mirrortest.ProgramGraph: its go.sum is complete,
// so the go command itself asks the database nothing) with an empty module
// cache, through a fresh gofailover and directly: what `go build` fetches,
// in the waves the go command discovers it in (.mod files, then the zips
// of each level of imports). See the comment above coldGraphSize.
func BenchmarkColdGoListDeps(b *testing.B) {
	f := newColdFixture(b)
	dir := b.TempDir()
	if err := mirrortest.WriteTree(dir, f.main); err != nil {
		b.Fatal(err)
	}
	coldCases(b, f, dir, "list", "-deps", "./...")
}

// upstreamEvent is one request a recordingProxy passed on: its URL path
// and when it arrived, when its response header and its last byte left.
type upstreamEvent struct {
	path                string
	start, header, done time.Time
}

// recordingProxy passes every request on to a mirror and records when.
type recordingProxy struct {
	proxy *httputil.ReverseProxy

	mu     sync.Mutex
	events []upstreamEvent
}

// newRecordingProxy starts a recordingProxy in front of the mirror at
// target on 127.0.0.1 and returns it with its URL.
func newRecordingProxy(b *testing.B, target string) (*recordingProxy, string) {
	b.Helper()
	u, err := url.Parse(target)
	if err != nil {
		b.Fatal(err)
	}
	p := &recordingProxy{proxy: httputil.NewSingleHostReverseProxy(u)}
	// Requests a stopping gofailover abandons are no news.
	p.proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) {
		w.WriteHeader(http.StatusBadGateway)
	}
	srv := httptest.NewServer(p)
	b.Cleanup(srv.Close)
	return p, srv.URL
}

// ServeHTTP passes r on and records it.
func (p *recordingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ev := upstreamEvent{path: r.URL.Path, start: time.Now()}
	hw := &headerTimer{ResponseWriter: w}
	p.proxy.ServeHTTP(hw, r)
	ev.header, ev.done = hw.at, time.Now()
	if ev.header.IsZero() {
		ev.header = ev.done
	}
	p.mu.Lock()
	p.events = append(p.events, ev)
	p.mu.Unlock()
}

// take returns the events recorded so far and forgets them.
func (p *recordingProxy) take() []upstreamEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	evs := p.events
	p.events = nil
	return evs
}

// headerTimer notes when the response header is written.
type headerTimer struct {
	http.ResponseWriter
	at time.Time
}

func (w *headerTimer) WriteHeader(code int) {
	if w.at.IsZero() {
		w.at = time.Now()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *headerTimer) Write(p []byte) (int, error) {
	if w.at.IsZero() {
		w.at = time.Now()
	}
	return w.ResponseWriter.Write(p)
}

// Flush passes flushes on, so that the proxy streams.
func (w *headerTimer) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// BenchmarkColdMissChain takes one miss of a fresh gofailover (empty cache
// directory) apart, from outside: a recording proxy between gofailover and
// the mirror notes when each upstream request (the file itself, the
// checksum database's latest, lookup and tiles) starts and ends, and the
// client when gofailover's header and last byte arrive. Per kind of miss
// (the .zip of the 1 MB module g00, the .zip of the 16 KB module g01, the
// .mod of g02) and mirror (loopback, wan40ms) it reports medians, in
// milliseconds from the client's request:
//
//   - file-done: the upstream's last byte of the file;
//   - sumdb-done: the last byte of the last checksum-database answer
//     asked for between the client's request and gofailover's answer (a
//     startup probe of /supported is not one of them);
//   - sumdb-trips: how many checksum-database requests those were;
//   - header: gofailover's response header;
//   - own: header minus the later of file-done and sumdb-done, the serial
//     work gofailover does itself once every upstream answer is in
//     (verification, the commit to the cache, re-opening what it serves);
//   - done: gofailover's last byte.
//
// With -v it logs the upstream requests of the last run.
//
//	go test -run '^$' -bench ColdMissChain -benchtime 10x -v ./cmd/gofailover
func BenchmarkColdMissChain(b *testing.B) {
	f := newColdFixture(b)
	rec, recURL := newRecordingProxy(b, f.mirror.URL())
	misses := []struct {
		name string
		path string
	}{
		{"zip1MB", "/example.com/g00/@v/v1.0.0.zip"},
		{"zip16KB", "/example.com/g01/@v/v1.1.0.zip"},
		{"mod", "/example.com/g02/@v/v1.2.0.mod"},
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for _, c := range coldMirrors {
		for _, miss := range misses {
			b.Run(c.name+"/"+miss.name, func(b *testing.B) {
				f.mirror.SetFault(c.fault)
				defer f.mirror.SetFault(mirrortest.Healthy())
				var fileDone, sumdbDone, trips, header, own, done []time.Duration
				var last []upstreamEvent
				var t0 time.Time
				for range b.N {
					b.StopTimer()
					srvURL, stop := freshServer(b, f.db, recURL)
					rec.take()
					b.StartTimer()
					t0 = time.Now()
					resp, err := http.Get(srvURL + miss.path)
					if err != nil {
						b.Fatal(err)
					}
					th := time.Now()
					n, err := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					td := time.Now()
					if err != nil || resp.StatusCode != http.StatusOK || n == 0 {
						b.Fatalf("GET %s: %s, %d bytes, %v", miss.path, resp.Status, n, err)
					}
					b.StopTimer()
					stop()
					last = rec.take()
					var fd, sd time.Time
					nsum := 0
					for _, ev := range last {
						switch {
						case ev.path == miss.path:
							fd = later(fd, ev.done)
						case strings.HasPrefix(ev.path, "/sumdb/") && !ev.start.Before(t0) && ev.start.Before(th):
							sd = later(sd, ev.done)
							nsum++
						}
					}
					if fd.IsZero() {
						b.Fatalf("gofailover did not fetch %s", miss.path)
					}
					fileDone = append(fileDone, fd.Sub(t0))
					sumdbDone = append(sumdbDone, max(sd.Sub(t0), 0))
					trips = append(trips, time.Duration(nsum))
					header = append(header, th.Sub(t0))
					own = append(own, th.Sub(later(fd, sd)))
					done = append(done, td.Sub(t0))
					b.StartTimer()
				}
				b.StopTimer()
				b.ReportMetric(ms(mirrortest.Median(fileDone)), "ms-file-done")
				b.ReportMetric(ms(mirrortest.Median(sumdbDone)), "ms-sumdb-done")
				b.ReportMetric(float64(mirrortest.Median(trips)), "sumdb-trips")
				b.ReportMetric(ms(mirrortest.Median(header)), "ms-header")
				b.ReportMetric(ms(mirrortest.Median(own)), "ms-own")
				b.ReportMetric(ms(mirrortest.Median(done)), "ms-done")
				slices.SortFunc(last, func(x, y upstreamEvent) int { return x.start.Compare(y.start) })
				for _, ev := range last {
					b.Logf("%-48s start %7.2fms header %7.2fms done %7.2fms", ev.path,
						ms(ev.start.Sub(t0)), ms(ev.header.Sub(t0)), ms(ev.done.Sub(t0)))
				}
				b.Logf("gofailover header %.2fms, done %.2fms", ms(header[len(header)-1]), ms(done[len(done)-1]))
			})
		}
	}
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// coldCPU collects the CPU times of the cold benchmarks' runs.
type coldCPU struct {
	unknown bool // the platform does not tell
	// viaSelf and directSelf: this process's CPU time during each run
	// through gofailover (gofailover and the mirror) and each direct run
	// (the mirror alone); goCommand: the go command's, every run.
	viaSelf, directSelf, goCommand []time.Duration
}

// start notes the CPU times before a run; the function it returns notes
// the run's, this process's into self.
func (c *coldCPU) start() func(self *[]time.Duration) {
	s0, c0, ok := cpuTimes()
	return func(self *[]time.Duration) {
		s1, c1, ok1 := cpuTimes()
		if !ok || !ok1 {
			c.unknown = true
			return
		}
		*self = append(*self, s1-s0)
		c.goCommand = append(c.goCommand, c1-c0)
	}
}

// report reports the medians and the CPU-bound floor of the ratio (see
// sideBySideCold).
func (c *coldCPU) report(b *testing.B, direct time.Duration) {
	if c.unknown || len(c.viaSelf) == 0 || len(c.directSelf) == 0 {
		return
	}
	goCommand, mirror := mirrortest.Median(c.goCommand), mirrortest.Median(c.directSelf)
	gofailover := max(mirrortest.Median(c.viaSelf)-mirror, 0)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(goCommand), "cpu-ms/go-command")
	b.ReportMetric(ms(mirror), "cpu-ms/mirror")
	b.ReportMetric(ms(gofailover), "cpu-ms/gofailover")
	floor := (goCommand + mirror + gofailover) / time.Duration(runtime.NumCPU())
	b.ReportMetric(float64(floor)/float64(direct), "cpu-bound-ratio")
}
