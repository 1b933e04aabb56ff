package alert

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gofailover/gofailover/health"
)

// Engine evaluates the alert rules over the pool's health and keeps every
// alert's state machine (see the package comment). It is safe for
// concurrent use: Alerts may serve a status page while Run evaluates.
type Engine struct {
	cfg    Config
	notify Notifier
	log    *slog.Logger

	// shared gives the shared store's health; nil when there is none.
	shared Source

	mu        sync.Mutex
	active    map[key]*Alert       // pending and firing alerts
	resolved  map[key]Alert        // the latest resolved alert of each key
	baselines map[string]*baseline // latency baselines by upstream name
}

// NewEngine returns an Engine with cfg, whose zero fields take their
// defaults. Firing and resolved transitions go to notify, which may be
// nil; log receives every transition, and nil discards them. opts add
// what the Engine watches besides the pools, such as WithSharedStore.
func NewEngine(cfg Config, notify Notifier, log *slog.Logger, opts ...Option) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		cfg:       cfg.withDefaults(),
		notify:    notify,
		log:       log,
		active:    make(map[key]*Alert),
		resolved:  make(map[key]Alert),
		baselines: make(map[string]*baseline),
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Evaluate applies every rule to statuses, the health of every upstream at
// now, moves the alerts' state machines, logs and notifies the
// transitions, and returns them; a notifier that is a Refresher is then
// shown the alerts firing. now must not go backwards between calls.
//
// An alert about an upstream missing from statuses is judged as if its
// condition had cleared, and the upstream's latency baseline is forgotten.
//
// With a shared store (WithSharedStore), its health is read now, from its
// Source, and judged by shared_store_down alone: the store is no upstream,
// and counts in no other rule.
func (e *Engine) Evaluate(now time.Time, statuses []health.Status) []Transition {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Transition
	seen := make(map[key]bool, 4*len(statuses)+1)
	names := make(map[string]bool, len(statuses))
	judge := func(f finding) {
		seen[f.key] = true
		out = e.step(now, f, out)
	}
	for _, s := range statuses {
		if s.Upstream == nil || names[s.Upstream.Name] {
			continue
		}
		names[s.Upstream.Name] = true
		b := e.baselines[s.Upstream.Name]
		if b == nil {
			b = new(baseline)
			e.baselines[s.Upstream.Name] = b
		}
		judge(judgeDown(s))
		judge(judgeLatency(now, s, b, &e.cfg))
		judge(judgeErrorRate(s, &e.cfg))
		judge(judgeQuarantined(s))
	}
	judge(judgePool(statuses))
	if e.shared != nil {
		if snap := e.shared.Snapshot(); len(snap) > 0 && snap[0].Upstream != nil {
			judge(judgeSharedDown(snap[0]))
		}
	}

	var gone []key
	for k := range e.active {
		if !seen[k] {
			gone = append(gone, k)
		}
	}
	slices.SortFunc(gone, compareKeys)
	for _, k := range gone {
		out = e.step(now, finding{key: k}, out)
	}
	for name := range e.baselines {
		if !names[name] {
			delete(e.baselines, name)
		}
	}
	for k, a := range e.resolved {
		if e.expired(now, a) {
			delete(e.resolved, k)
		}
	}
	if r, ok := e.notify.(Refresher); ok {
		r.Refresh(now, e.firing())
	}
	return out
}

// firing returns the firing alerts, ordered as Alerts orders them.
func (e *Engine) firing() []Alert {
	var out []Alert
	for _, a := range e.active {
		if a.State == Firing {
			out = append(out, *a)
		}
	}
	slices.SortFunc(out, compareAlerts)
	return out
}

// step moves the state machine of f.key according to f, appending its
// transitions to out. A finding that cannot judge leaves it as it is.
func (e *Engine) step(now time.Time, f finding, out []Transition) []Transition {
	if f.unknown {
		return out
	}
	a := e.active[f.key]
	if a == nil {
		if !f.holds {
			return out
		}
		from := Inactive
		if r, ok := e.resolved[f.key]; ok && !e.expired(now, r) {
			from = Resolved
		}
		a = &Alert{Rule: f.key.rule, Upstream: f.key.upstream, State: Pending, Since: now, ActiveAt: now}
		update(a, f)
		e.active[f.key] = a
		out = e.emit(now, *a, from, out)
	} else if f.holds {
		update(a, f)
	}

	switch {
	case a.State == Pending && f.holds && now.Sub(a.ActiveAt) >= e.cfg.For:
		a.State, a.Since, a.FiredAt = Firing, now, now
		out = e.emit(now, *a, Pending, out)
	case a.State == Pending && !f.holds:
		delete(e.active, f.key)
		a.State, a.Since = Inactive, now
		out = e.emit(now, *a, Pending, out)
	case a.State == Firing && !f.holds:
		delete(e.active, f.key)
		a.State, a.Since, a.ResolvedAt = Resolved, now, now
		e.resolved[f.key] = *a
		out = e.emit(now, *a, Firing, out)
	}
	return out
}

// update copies what f found into a.
func update(a *Alert, f finding) {
	a.Severity, a.Value, a.Threshold, a.Summary = f.severity, f.value, f.threshold, f.summary
}

// emit logs the move of a from from to a.State, notifies it if it is a
// firing or a resolve, and appends it to out.
func (e *Engine) emit(now time.Time, a Alert, from State, out []Transition) []Transition {
	t := Transition{Alert: a, From: from, To: a.State, At: now}
	level := slog.LevelInfo
	if t.To == Firing {
		level = slog.LevelWarn
	}
	e.log.LogAttrs(context.Background(), level, "alert "+string(t.To),
		slog.String("rule", string(a.Rule)),
		slog.String("upstream", a.Upstream),
		slog.String("severity", string(a.Severity)),
		slog.Float64("value", a.Value),
		slog.Float64("threshold", a.Threshold),
		slog.String("from", string(from)),
		slog.String("summary", a.Summary))
	if e.notify != nil && (t.To == Firing || t.To == Resolved) {
		e.notify.Notify(t)
	}
	return append(out, t)
}

// expired reports whether resolved alert a is past its retention at now.
func (e *Engine) expired(now time.Time, a Alert) bool {
	return now.Sub(a.ResolvedAt) >= e.cfg.ResolvedRetention
}

// Alerts returns the alerts that are pending or firing, and those resolved
// within Config.ResolvedRetention before now: firing first, then pending,
// then resolved; within each, by severity, then the most recent first.
func (e *Engine) Alerts(now time.Time) []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Alert, 0, len(e.active)+len(e.resolved))
	for _, a := range e.active {
		out = append(out, *a)
	}
	for _, a := range e.resolved {
		if !e.expired(now, a) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, compareAlerts)
	return out
}

// stateOrder ranks the states in an alert listing: firing, pending,
// resolved.
func stateOrder(s State) int {
	switch s {
	case Firing:
		return 0
	case Pending:
		return 1
	default:
		return 2
	}
}

// compareAlerts orders alerts for Alerts.
func compareAlerts(a, b Alert) int {
	return cmp.Or(
		cmp.Compare(stateOrder(a.State), stateOrder(b.State)),
		cmp.Compare(a.Severity, b.Severity),
		b.Since.Compare(a.Since),
		compareKeys(key{a.Rule, a.Upstream}, key{b.Rule, b.Upstream}),
	)
}

// compareKeys orders keys by rule, then upstream.
func compareKeys(a, b key) int {
	return cmp.Or(cmp.Compare(a.rule, b.rule), cmp.Compare(a.upstream, b.upstream))
}
