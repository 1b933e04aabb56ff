package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/gofailover/gofailover/proxy/protocol"
)

// Prefetch says what a Handler fetches ahead of the go command, which,
// cold, walks the module graph in waves: it asks for a module's .mod,
// parses it, then asks for its requirements' .mod files; `go mod download`
// asks for a version's .info, then its .mod, then its .zip. Each wave pays
// the mirrors' round trip; a proxy that has just fetched one answer knows
// what comes next. The zero value prefetches nothing.
type Prefetch struct {
	// Mods: when the go command asks for the .info of a canonical version
	// that is not cached, its .mod is fetched too; and when a .mod is
	// fetched, the .mod and .info files of its requirements, and theirs,
	// within Depth. The go command asks for the .info of every module
	// version it downloads (`go mod download` after walking the graph's
	// .mod files, `go build` with each zip, `go list -m all`), one at a
	// time.
	Mods bool
	// Zips: when the go command asks for the .info of a canonical version
	// that is not cached, its .zip is fetched too (`go mod download`
	// asks for it next); and when it asks for the .zip of a module
	// version, the .info, .mod and .zip of its requirements are fetched
	// (it is building that module's packages, whose imports are most
	// likely among them: `go build` and `go list -deps` walk the import
	// graph in waves, one zip at a time).
	Zips bool
	// Depth bounds how far from a .mod the go command asked for its
	// requirements are followed. Zero means DefaultPrefetchDepth.
	Depth int
	// Workers is how many prefetches run at once. Zero means
	// DefaultPrefetchWorkers.
	Workers int
}

// Prefetch defaults.
const (
	DefaultPrefetchDepth   = 3
	DefaultPrefetchWorkers = 8
	// prefetchQueue bounds the prefetches waiting; past it they are
	// dropped.
	prefetchQueue = 1024
	// prefetchQuiet is how long after the last user's request prefetches
	// still start: when the go command has gone quiet, the build is over.
	prefetchQuiet = 5 * time.Second
	// prefetchWasted is how long a prefetched answer may wait for a
	// user's request before it counts as wasted.
	prefetchWasted = 10 * time.Minute
	// prefetchMemory bounds the keys remembered as asked for recently
	// (not asked again) and as prefetched (waiting for a user).
	prefetchMemory = 1 << 16
)

// PrefetchStats counts what prefetching did.
type PrefetchStats struct {
	// Fetched counts prefetches that fetched an answer (from a mirror or
	// the shared store); Failed those that got none (the answer does not
	// exist, no mirror could spare a request slot, every mirror failed).
	Fetched, Failed uint64
	// Hits counts prefetched answers a user's request then asked for;
	// Wasted those no user asked for within 10 minutes.
	Hits, Wasted uint64
	// Dropped counts prefetches not made: the queue was full, or users
	// had gone quiet.
	Dropped uint64
}

// prefetchJob is one answer to fetch ahead, and how far it is from what a
// user asked for.
type prefetchJob struct {
	req   *protocol.Request
	depth int
	// expand: not a fetch, but the prefetches afterZip asks for.
	expand bool
}

// prefetcher fetches answers ahead of the go command (see Prefetch). Its
// workers belong to the Handler: they stop with the Handler's context,
// and Handler.Wait waits for them.
type prefetcher struct {
	h     *Handler
	cfg   Prefetch
	queue chan prefetchJob

	// lastUser is when a user's request last arrived, Unix nanoseconds.
	lastUser atomic.Int64
	// waiting counts the entries of prefetched, so that users' requests
	// skip the lock while there are none.
	waiting atomic.Int64

	mu sync.Mutex
	// queued holds the keys queued lately: each is prefetched once.
	queued map[string]struct{}
	// expanded holds the zips whose requirements were queued (afterZip):
	// each once.
	expanded map[string]struct{}
	// prefetched holds the keys prefetched and not yet asked for by a
	// user, and when.
	prefetched map[string]time.Time

	fetched, failed, hits, wasted, dropped atomic.Uint64
}

// newPrefetcher returns the Handler's prefetcher and starts its workers,
// or returns nil when cfg prefetches nothing.
func newPrefetcher(h *Handler, cfg Prefetch) *prefetcher {
	if !cfg.Mods && !cfg.Zips {
		return nil
	}
	if cfg.Depth <= 0 {
		cfg.Depth = DefaultPrefetchDepth
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultPrefetchWorkers
	}
	p := &prefetcher{
		h:          h,
		cfg:        cfg,
		queue:      make(chan prefetchJob, prefetchQueue),
		queued:     make(map[string]struct{}),
		expanded:   make(map[string]struct{}),
		prefetched: make(map[string]time.Time),
	}
	for range cfg.Workers {
		h.fetches.Go(p.work)
	}
	return p
}

// work runs prefetches until the Handler's context ends.
func (p *prefetcher) work() {
	for {
		select {
		case <-p.h.base.Done():
			return
		case job := <-p.queue:
			p.run(job)
		}
	}
}

// asked notes a user's request for key: prefetching goes on while users
// ask, and a prefetched answer asked for is a hit. It reports whether key
// was prefetched and is now asked for the first time.
func (p *prefetcher) asked(key string) bool {
	if p == nil {
		return false
	}
	// Written at most every 100 ms: a store on every hit would bounce the
	// cache line between CPUs.
	if now := time.Now().UnixNano(); now-p.lastUser.Load() > int64(100*time.Millisecond) {
		p.lastUser.Store(now)
	}
	if p.waiting.Load() == 0 {
		return false
	}
	p.mu.Lock()
	_, hit := p.prefetched[key]
	if hit {
		delete(p.prefetched, key)
		p.waiting.Store(int64(len(p.prefetched)))
		p.hits.Add(1)
	}
	p.mu.Unlock()
	return hit
}

// afterInfo prefetches what the go command asks for after the .info of a
// canonical version that was not cached (or was only because it was
// prefetched): its .mod, and with Zips its .zip.
func (p *prefetcher) afterInfo(req *protocol.Request) {
	if p == nil || req.Kind != protocol.KindInfo || !req.Immutable {
		return
	}
	if p.cfg.Mods {
		p.enqueue(req.Module, req.Version, ".mod", 1)
	}
	if p.cfg.Zips {
		p.enqueue(req.Module, req.Version, ".zip", 1)
	}
}

// afterZip prefetches, once per module version, what the go command is
// likely to ask for once it has the .zip req names: the .info, .mod and
// .zip of the requirements its go.mod (in the cache) lists.
func (p *prefetcher) afterZip(req *protocol.Request) {
	if p == nil || !p.cfg.Zips || req.Kind != protocol.KindZip {
		return
	}
	p.mu.Lock()
	_, done := p.expanded[req.Path]
	if !done {
		if len(p.expanded) >= prefetchMemory {
			clear(p.expanded)
		}
		p.expanded[req.Path] = struct{}{}
	}
	p.mu.Unlock()
	if done {
		return
	}
	// A worker reads the go.mod: the user's request does not wait.
	select {
	case p.queue <- prefetchJob{req: req, expand: true}:
	default:
		p.dropped.Add(1)
	}
}

// expand queues the prefetches afterZip asks for.
func (p *prefetcher) expand(req *protocol.Request) {
	obj, err := p.h.cfg.Store.Open(strings.TrimSuffix(req.Path, ".zip") + ".mod")
	if err != nil {
		return // not cached: nothing known of its requirements
	}
	defer obj.Close()
	gomod, err := io.ReadAll(io.LimitReader(obj.Body, protocol.MaxModBytes))
	if err != nil || obj.Status != http.StatusOK {
		return
	}
	f, err := modfile.ParseLax("go.mod", gomod, nil)
	if err != nil {
		return
	}
	for _, r := range f.Require {
		for _, suffix := range []string{".info", ".mod", ".zip"} {
			p.enqueue(r.Mod.Path, r.Mod.Version, suffix, p.cfg.Depth)
		}
	}
}

// requirements prefetches the .mod and .info files of the requirements of
// the go.mod file gomod of req's module version, fetched for job (nil: for
// a user).
func (p *prefetcher) requirements(req *protocol.Request, gomod []byte, job *prefetchJob) {
	if p == nil || !p.cfg.Mods {
		return
	}
	depth := 1
	if job != nil {
		depth = job.depth + 1
	}
	if depth > p.cfg.Depth {
		return
	}
	f, err := modfile.ParseLax("go.mod", gomod, nil)
	if err != nil {
		return // checked already; nothing to follow
	}
	for _, r := range f.Require {
		p.enqueue(r.Mod.Path, r.Mod.Version, ".mod", depth)
		p.enqueue(r.Mod.Path, r.Mod.Version, ".info", depth)
	}
}

// enqueue queues the prefetch of one file of mod at a canonical version,
// once, unless users have gone quiet or the queue is full.
func (p *prefetcher) enqueue(mod, version, suffix string, depth int) {
	if semver.Canonical(version) != version || module.Check(mod, version) != nil {
		return // a pseudo-version is canonical; a query is not
	}
	epath, err := module.EscapePath(mod)
	if err != nil {
		return
	}
	evers, err := module.EscapeVersion(version)
	if err != nil {
		return
	}
	req, err := protocol.ParseRequest("/" + epath + "/@v/" + evers + suffix)
	if err != nil {
		return
	}
	if _, refused := p.h.refuse(req); refused {
		return
	}
	p.mu.Lock()
	if _, ok := p.queued[req.Path]; ok {
		p.mu.Unlock()
		return
	}
	if len(p.queued) >= prefetchMemory {
		clear(p.queued)
	}
	p.queued[req.Path] = struct{}{}
	p.mu.Unlock()
	select {
	case p.queue <- prefetchJob{req: req, depth: depth}:
	default:
		p.dropped.Add(1)
	}
}

// run makes one prefetch: through the same shared fetch as users'
// requests, so that a user asking meanwhile joins it.
func (p *prefetcher) run(job prefetchJob) {
	if time.Since(time.Unix(0, p.lastUser.Load())) > prefetchQuiet {
		p.dropped.Add(1)
		return
	}
	if job.expand {
		p.expand(job.req)
		return
	}
	h, req := p.h, job.req
	if _, err := h.cfg.Store.Lookup(req.Path); err == nil {
		return // cached already
	}
	ran := false
	v, _, _ := h.flight.Do(req.Path, func() (any, error) {
		ran = true
		return h.load(req, &job), nil
	})
	if !ran {
		return // a user's request was fetching it
	}
	if v.(*answer).status != 200 {
		p.failed.Add(1)
		return
	}
	p.fetched.Add(1)
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.prefetched) >= prefetchMemory {
		p.sweepLocked(now, true)
	}
	p.prefetched[req.Path] = now
	p.sweepLocked(now, false)
	p.waiting.Store(int64(len(p.prefetched)))
}

// sweepLocked counts as wasted, and forgets, the prefetched answers no
// user asked for within prefetchWasted (all of them with all). p.mu is
// held.
func (p *prefetcher) sweepLocked(now time.Time, all bool) {
	for key, at := range p.prefetched {
		if all || now.Sub(at) > prefetchWasted {
			delete(p.prefetched, key)
			p.wasted.Add(1)
		}
	}
}

// PrefetchStats returns what prefetching has done; zero when it is off.
// It changes nothing: answers waiting past prefetchWasted count as wasted
// whether or not a sweep has dropped them yet.
func (h *Handler) PrefetchStats() PrefetchStats {
	p := h.prefetch
	if p == nil {
		return PrefetchStats{}
	}
	now := time.Now()
	p.mu.Lock()
	wasted := p.wasted.Load()
	for _, at := range p.prefetched {
		if now.Sub(at) > prefetchWasted {
			wasted++
		}
	}
	p.mu.Unlock()
	return PrefetchStats{
		Fetched: p.fetched.Load(),
		Failed:  p.failed.Load(),
		Hits:    p.hits.Load(),
		Wasted:  wasted,
		Dropped: p.dropped.Load(),
	}
}
