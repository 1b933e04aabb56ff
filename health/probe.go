package health

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"
)

// Requester makes the Prober's requests: it is the one upstream client
// every request to a mirror goes through (proxy/upstream.Client), so that
// probes are sent, timed, checked and judged exactly like users' requests.
type Requester interface {
	// Request asks u for a protocol path (such as
	// "/example.com/m/@v/list") and judges the answer. It returns the
	// Outcome, the body of a usable 200 answer other than a zip, and
	// whether the Outcome says anything about u: false when the request
	// was not made (no request slot free) or ctx ended first.
	Request(ctx context.Context, u *Upstream, path string) (Outcome, []byte, bool)
}

// ProbeKind names one of the requests a probe makes to an upstream.
type ProbeKind string

// The probe requests, in the order they are made.
const (
	// ProbeSumDB is GET <upstream>/sumdb/<ProbeConfig.SumDB>/supported.
	ProbeSumDB ProbeKind = "sumdb-supported"
	// ProbeList is GET <upstream>/<escaped ProbeConfig.Module>/@v/list.
	ProbeList ProbeKind = "list"
	// ProbeInfo is GET <upstream>/<escaped module>/@v/<escaped ProbeConfig.Version>.info.
	ProbeInfo ProbeKind = "info"
	// ProbeMod is GET <upstream>/<escaped module>/@v/<escaped version>.mod;
	// only with ProbeConfig.Full.
	ProbeMod ProbeKind = "mod"
	// ProbeZip is GET <upstream>/<escaped module>/@v/<escaped version>.zip;
	// only with ProbeConfig.Full.
	ProbeZip ProbeKind = "zip"
	// ProbeLatest is GET <upstream>/<escaped module>/@latest; only with
	// ProbeConfig.Full.
	ProbeLatest ProbeKind = "latest"
)

// ProbeConfig configures a Prober. A zero duration or fraction means its
// default.
type ProbeConfig struct {
	// Interval is the time between the end of one probe round of an
	// upstream and the start of the next, before jitter. Default 15s.
	Interval time.Duration
	// Jitter spreads each interval uniformly over ±Jitter×Interval, so that
	// probes do not fall into lockstep. Default 0.1; negative means none;
	// at most 0.5.
	Jitter float64
	// Timeout bounds each probe request, body included. Default 10s.
	Timeout time.Duration
	// SumDB is the checksum database name (such as the name part of
	// GOSUMDB) whose supported endpoint is probed; empty means none.
	SumDB string
	// Module is the module path whose @v/list is probed: a widely used
	// public module every mirror should have. Empty means no module probes.
	Module string
	// Version is a canonical version of Module whose .info is probed as
	// well; empty means only the list.
	Version string
	// Full adds the requests a one-shot check of a mirror makes, so that
	// every protocol endpoint is exercised: the .mod and .zip of Version
	// (with a Version) and the @latest of Module. The background prober
	// leaves it off: a zip can be large.
	Full bool
	// MaxRetryAfter caps how long an upstream's Retry-After postpones its
	// next probe round. Default 10m.
	MaxRetryAfter time.Duration
	// Logger receives probe logs: a warning when an upstream starts failing
	// its probes, info when it recovers, debug for every probe. Nil
	// discards them.
	Logger *slog.Logger
}

// Probe defaults.
const (
	DefaultProbeInterval = 15 * time.Second
	DefaultProbeJitter   = 0.1
	DefaultProbeTimeout  = 10 * time.Second
)

// Validate checks the probe targets: a checksum database name that is one
// path element, a valid module path, and a canonical version of it (which
// requires a module).
func (c ProbeConfig) Validate() error {
	if c.SumDB != "" {
		if strings.ContainsAny(c.SumDB, "/\\?#% ") || c.SumDB == "." || c.SumDB == ".." {
			return fmt.Errorf("probe checksum database name %q is not a host name", c.SumDB)
		}
	}
	if c.Module != "" {
		if err := module.CheckPath(c.Module); err != nil {
			return err // "malformed module path ...": says what it is
		}
	}
	if c.Version != "" {
		if c.Module == "" {
			return fmt.Errorf("probe version %q given without a probe module", c.Version)
		}
		if err := module.Check(c.Module, c.Version); err != nil {
			return err // "<module>@<version>: invalid version: ...": says what it is
		}
		if module.CanonicalVersion(c.Version) != c.Version {
			return fmt.Errorf("version %q is not canonical (%q)", c.Version, module.CanonicalVersion(c.Version))
		}
	}
	return nil
}

// withDefaults returns c with zero fields set to their defaults.
func (c ProbeConfig) withDefaults() ProbeConfig {
	if c.Interval <= 0 {
		c.Interval = DefaultProbeInterval
	}
	switch {
	case c.Jitter == 0:
		c.Jitter = DefaultProbeJitter
	case c.Jitter < 0:
		c.Jitter = 0
	case c.Jitter > 0.5:
		c.Jitter = 0.5
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultProbeTimeout
	}
	if c.MaxRetryAfter <= 0 {
		c.MaxRetryAfter = DefaultConfig().MaxRetryAfter
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// EndpointResult is what one probe request showed.
type EndpointResult struct {
	// Kind is the request made.
	Kind ProbeKind
	// URL is the request URL without credentials.
	URL string
	// Outcome is what it showed, as reported to the Pool.
	Outcome Outcome
	// Reported says whether Outcome was reported to the Pool. It is false
	// when the probe was skipped or cut short by the caller's context,
	// which says nothing about the upstream.
	Reported bool
	// Skipped says the request was not made: an earlier probe of the same
	// round could not reach the upstream or was told to back off, or the
	// caller's context was done.
	Skipped bool
	// Versions holds the versions a list probe answered with (see
	// ParseVersionList); nil for other probes and failed ones.
	Versions []string
}

// ProbeResult is one probe round of one upstream.
type ProbeResult struct {
	// Upstream is the upstream probed.
	Upstream *Upstream
	// Endpoints holds one result per configured probe request, in the
	// order of the ProbeKind constants.
	Endpoints []EndpointResult
	// Stale lists the versions of the probe module that this upstream's
	// list lacked, though another upstream listed them, in this round and
	// the one before; nil when it is up to date (or was not compared).
	Stale []string
}

// OK reports whether every probe request of the round was made, judged and
// gave an answer (FailNone; a 404 or 410 is an answer).
func (r ProbeResult) OK() bool {
	for _, e := range r.Endpoints {
		if e.Skipped || !e.Reported || e.Outcome.Failure != FailNone {
			return false
		}
	}
	return true
}

// Failed returns the first endpoint of the round whose judged outcome was
// a failure, if any.
func (r ProbeResult) Failed() (EndpointResult, bool) {
	for _, e := range r.Endpoints {
		if e.Reported && e.Outcome.Failure != FailNone {
			return e, true
		}
	}
	return EndpointResult{}, false
}

// RetryAfter is the longest Retry-After the upstream sent in the round.
func (r ProbeResult) RetryAfter() time.Duration {
	var d time.Duration
	for _, e := range r.Endpoints {
		d = max(d, e.Outcome.RetryAfter)
	}
	return d
}

// probeSpec is one configured probe request: its kind and protocol path.
// What a good answer is (and how large it may be) is the Requester's
// judgment, the same as for users' requests.
type probeSpec struct {
	kind ProbeKind
	path string
}

// Prober actively probes every upstream of a Pool in the background with
// cheap protocol requests that exercise a mirror the way the go command
// does (see ProbeKind), and reports each request's Outcome to the Pool, so
// that a failing mirror is noticed, and a recovered one taken back, without
// a user request paying for it.
//
// Each upstream is probed by its own goroutine; its requests run one after
// another, each with its own timeout. Probing never holds up serving: it
// shares nothing with requests but the Pool's brief Report.
type Prober struct {
	pool   *Pool
	cfg    ProbeConfig
	client Requester
	clock  Clock
	log    *slog.Logger
	specs  []probeSpec
	lists  listBook
	served servedBook

	// rand returns a number in [0, 1) for jitter.
	rand func() float64
	// wait waits d or until ctx is done, reporting whether d passed.
	wait func(ctx context.Context, d time.Duration) bool
}

// NewProber returns a Prober of pool's upstreams, whose requests client
// makes. Zero fields of cfg take their defaults; a probe target that fails
// cfg.Validate is logged and left out. A nil clock means SystemClock (it
// dates the list comparisons; waiting between rounds uses real timers).
func NewProber(pool *Pool, cfg ProbeConfig, client Requester, clock Clock) *Prober {
	cfg = cfg.withDefaults()
	if clock == nil {
		clock = SystemClock{}
	}
	p := &Prober{
		pool:   pool,
		cfg:    cfg,
		client: client,
		clock:  clock,
		log:    cfg.Logger,
		rand:   rand.Float64,
		wait:   Sleep,
		lists:  listBook{maxAge: 3 * cfg.Interval},
		served: servedBook{maxAge: 3 * cfg.Interval},
	}
	if err := cfg.Validate(); err != nil {
		p.log.Error("probe configuration is invalid; leaving out what is wrong", "err", err)
	}
	p.specs = probeSpecs(cfg)
	return p
}

// probeSpecs returns the probe requests of cfg's valid targets, in the
// order of the ProbeKind constants.
func probeSpecs(cfg ProbeConfig) []probeSpec {
	var specs []probeSpec
	if cfg.SumDB != "" && (ProbeConfig{SumDB: cfg.SumDB}).Validate() == nil {
		specs = append(specs, probeSpec{kind: ProbeSumDB, path: "/sumdb/" + cfg.SumDB + "/supported"})
	}
	esc, err := module.EscapePath(cfg.Module)
	if cfg.Module == "" || err != nil {
		return specs
	}
	specs = append(specs, probeSpec{kind: ProbeList, path: "/" + esc + "/@v/list"})
	if cfg.Version != "" && (ProbeConfig{Module: cfg.Module, Version: cfg.Version}).Validate() == nil {
		if ev, err := module.EscapeVersion(cfg.Version); err == nil {
			base := "/" + esc + "/@v/" + ev
			specs = append(specs, probeSpec{kind: ProbeInfo, path: base + ".info"})
			if cfg.Full {
				specs = append(specs, probeSpec{kind: ProbeMod, path: base + ".mod"}, probeSpec{kind: ProbeZip, path: base + ".zip"})
			}
		}
	}
	if cfg.Full {
		specs = append(specs, probeSpec{kind: ProbeLatest, path: "/" + esc + "/@latest"})
	}
	return specs
}

// Run probes every upstream every interval (with jitter, and no sooner than
// a Retry-After the upstream sent allows), starting at once, until ctx is
// done; then it waits for its goroutines and returns. A probe in flight
// when ctx is done is abandoned and not reported.
func (p *Prober) Run(ctx context.Context) {
	if len(p.specs) == 0 || len(p.pool.Upstreams()) == 0 {
		if len(p.specs) == 0 {
			p.log.Info("active probing is off: no probe module or checksum database configured")
		}
		<-ctx.Done()
		return
	}
	var wg sync.WaitGroup
	for _, u := range p.pool.Upstreams() {
		wg.Go(func() { p.loop(ctx, u) })
	}
	wg.Wait()
}

// loop probes u until ctx is done.
func (p *Prober) loop(ctx context.Context, u *Upstream) {
	failing := false
	for {
		r := p.probeUpstream(ctx, u)
		if ctx.Err() != nil {
			return
		}
		if e, bad := r.Failed(); bad && !failing {
			p.log.Warn("upstream is failing its probes", "upstream", u.Name, "probe", e.Kind,
				"status", e.Outcome.Status, "failure", e.Outcome.Failure, "err", e.Outcome.Err)
		} else if !bad && failing {
			p.log.Info("upstream passes its probes again", "upstream", u.Name)
		}
		_, failing = r.Failed()
		if !p.wait(ctx, p.next(r)) {
			return
		}
	}
}

// next returns how long to wait after round r: the jittered interval, or
// the upstream's Retry-After (capped) if that is longer.
func (p *Prober) next(r ProbeResult) time.Duration {
	d := jitter(p.cfg.Interval, p.cfg.Jitter, p.rand())
	if ra := min(r.RetryAfter(), p.cfg.MaxRetryAfter); ra > d {
		d = ra
	}
	return d
}

// jitter spreads d uniformly over d×(1±frac), given x uniform in [0, 1).
func jitter(d time.Duration, frac, x float64) time.Duration {
	return time.Duration(float64(d) * (1 + frac*(2*x-1)))
}

// ProbeOnce runs one probe round of every upstream, all concurrently, and
// returns the results in the pool's upstream order. Each outcome is
// reported to the Pool unless ctx was done first.
func (p *Prober) ProbeOnce(ctx context.Context) []ProbeResult {
	ups := p.pool.Upstreams()
	out := make([]ProbeResult, len(ups))
	var wg sync.WaitGroup
	for i, u := range ups {
		wg.Go(func() { out[i] = p.probeUpstream(ctx, u) })
	}
	wg.Wait()
	return out
}

// probeUpstream runs one probe round of u: the requests one after another,
// skipping the rest once the upstream cannot be reached or asks to be left
// alone.
func (p *Prober) probeUpstream(ctx context.Context, u *Upstream) ProbeResult {
	r := ProbeResult{Upstream: u, Endpoints: make([]EndpointResult, len(p.specs))}
	skip := false
	for i, s := range p.specs {
		e := &r.Endpoints[i]
		e.Kind, e.URL = s.kind, u.Name+s.path
		if skip || ctx.Err() != nil {
			e.Skipped = true
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
		o, body, judged := p.client.Request(pctx, u, s.path)
		cancel()
		o.Probe = true
		e.Outcome = o
		if ctx.Err() != nil || !judged {
			// Cut short by the caller, or not made: says nothing
			// about the upstream. (The probe's own timeout running
			// out is judged a timeout by the client.)
			continue
		}
		p.pool.Report(u, o)
		e.Reported = true
		p.log.Debug("probe", "upstream", u.Name, "probe", s.kind, "status", o.Status,
			"failure", o.Failure, "first_byte", o.FirstByte, "total", o.Total, "err", o.Err)
		if o.Status == 0 && o.Failure != FailNone || o.Failure == FailRateLimit {
			skip = true
		}
		if o.Failure == FailNone {
			p.judgeDenial(u, s, o.Status)
		}
		if s.kind == ProbeList && o.Status == http.StatusOK && o.Failure == FailNone {
			e.Versions = ParseVersionList(body)
			r.Stale = p.compareList(u, e.Versions)
		}
	}
	return r
}

// judgeDenial records u's answer to a probe and tells the Pool when it is
// a "not found" for what another upstream serves.
func (p *Prober) judgeDenial(u *Upstream, s probeSpec, status int) {
	by := p.served.observe(u, s.path, status, p.clock.Now())
	if by == nil {
		return
	}
	p.log.Warn("upstream says not found for what another upstream serves: misconfigured or stale",
		"upstream", u.Name, "probe", s.kind, "status", status, "served_by", by.Name)
	p.pool.ReportDenial(u, s.path, status, by.Name)
}

// compareList records u's list of the probe module, tells the Pool whether
// u is stale, and returns the versions it lacks if it is.
func (p *Prober) compareList(u *Upstream, versions []string) []string {
	missing, was := p.lists.observe(u, versions, p.clock.Now())
	p.pool.SetStale(u, missing)
	switch {
	case len(missing) > 0 && !was:
		p.log.Warn("upstream is stale: its list lacks versions other upstreams list",
			"upstream", u.Name, "module", p.cfg.Module, "missing", missing)
	case len(missing) == 0 && was:
		p.log.Info("upstream is up to date again", "upstream", u.Name, "module", p.cfg.Module)
	}
	return missing
}
