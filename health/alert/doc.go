// Package alert owns gofailover's alerting: the rules that judge the health
// of the upstream pool, the state machine that turns a rule's condition into
// an alert only once it has held for a while, and the webhook that tells
// someone about it.
//
// # Evaluation
//
// An Engine reads []health.Status, as health.Pool.Snapshot returns it, at
// each evaluation (Engine.Run evaluates every Config.Interval; tests call
// Engine.Evaluate with explicit times). It never touches the pool otherwise,
// and nothing in this package blocks serving or probing: evaluation is a
// short computation, and notifications are queued.
//
// Each rule is evaluated for each upstream (all_upstreams_down once for the
// whole pool), and each (rule, upstream) pair has its own state machine:
//
//	inactive → pending    the condition holds
//	pending  → firing     it has held for Config.For
//	pending  → inactive   it cleared before that: nobody is told
//	firing   → resolved   it cleared
//	resolved → pending    it holds again: a new alert begins
//
// A resolved alert is shown by Engine.Alerts for Config.ResolvedRetention
// (the latest one of each rule and upstream), so that a status page can list
// what was recently wrong; its expiry is not a transition.
//
// # Rules
//
//   - upstream_down: the upstream's breaker is open or half-open (or it is
//     holding off after a Retry-After, which health shows as open).
//     Value is 1 while it holds, Threshold is 1.
//   - latency_high: the upstream's latency EWMA (Status.EWMA, the figure the
//     pool routes by: smooth, yet quick to follow a change) is above both
//     Config.LatencyFloor and a dynamic threshold, mean + LatencyK·σ of the
//     upstream's own readings over the last Config.LatencyWindow. The
//     threshold comes from the readings before the current one; a reading
//     joins the window only when the upstream reported new outcomes since
//     the previous evaluation (a repeated figure is not new evidence) and
//     the condition does not hold. So while latency is high the baseline is
//     frozen, neither gaining readings nor losing old ones, and a sustained
//     slowdown keeps firing for as long as it stays above the floor and the
//     threshold of the baseline from before it: it never becomes its own
//     baseline. Once latency is back under the threshold, readings join
//     again and the oldest age out. Until the window holds
//     Config.LatencyMinPoints readings there is no threshold and the rule
//     does not fire, nor does it while the pool has no latency for the
//     upstream (nothing in its window); σ is taken to be at least Config.LatencyMinSpread of
//     the mean, so that a very steady upstream does not fire on a small
//     rise. Value and Threshold are in seconds.
//   - error_rate_high: the upstream's latest Config.ErrorStreak outcomes
//     (Status.ConsecutiveFailures, requests and probes) all failed, Value
//     being 1; or Status.ErrorRate is above Config.ErrorRate with at least
//     Config.MinSamples outcomes in the pool's window. The streak makes a
//     dead mirror pending at the first evaluation after its first failures,
//     although its breaker keeps its window short of MinSamples. With
//     neither a streak nor MinSamples outcomes the rule cannot judge and
//     the alert stays as it is: the pool empties the window when a breaker
//     lets an upstream try again, and a mirror that is still failing must
//     not resolve and re-fire. Value and Threshold are fractions.
//   - upstream_quarantined: the upstream served content that failed
//     checksum verification and is quarantined. Value 1, Threshold 1.
//   - all_upstreams_down: every upstream is open, half-open or quarantined,
//     so gofailover serves from its cache only. One alert for the pool, with
//     Upstream empty; Value is the number of upstreams down, Threshold the
//     number of upstreams.
//   - shared_store_down: the shared object store the replicas share
//     (WithSharedStore) is down: its breaker is open, half-open or
//     quarantined, so each replica goes on alone, from its own cache and
//     the upstreams. One alert, with Upstream the store's name (the label
//     store, not upstream, in Alertmanager); Value 1, Threshold 1. The store
//     counts in no other rule.
//
// The rules are independent: an upstream that is down usually has a high
// error rate as well, and both fire.
//
// # Severities
//
//   - P0: all_upstreams_down.
//   - P1: upstream_down, latency_high or error_rate_high of the preferred
//     upstream (Rank 0); upstream_quarantined of any upstream.
//   - P2: upstream_down, latency_high or error_rate_high of another
//     upstream; shared_store_down (nobody is failing: each replica
//     serves from its own cache and the upstreams).
//
// # Notifications
//
// Every transition is logged: firing at WARN, the others at INFO, with the
// rule, upstream, severity, value and threshold. Only firing and resolved
// transitions go to the Engine's Notifier. Webhook is a Notifier that POSTs
// each one as JSON (see Payload) with retries, from a bounded queue drained
// by its own Run loop, so that a webhook that is down or hangs holds up
// nothing but its own queue. Its body is stable; for example:
//
//	{
//	  "version": 1,
//	  "source": "gofailover",
//	  "status": "firing",
//	  "from": "pending",
//	  "to": "firing",
//	  "rule": "upstream_down",
//	  "severity": "P1",
//	  "upstream": "http://127.0.0.1:8081",
//	  "value": 1,
//	  "threshold": 1,
//	  "summary": "upstream http://127.0.0.1:8081 is down (open)",
//	  "active_at": "2025-01-01T00:00:00Z",
//	  "starts_at": "2025-01-01T00:01:00Z",
//	  "at": "2025-01-01T00:01:00Z"
//	}
//
// A resolved notification has "status": "resolved" and adds "ends_at".
// Fields may be added in later versions; none will change meaning without
// a new "version".
//
// The caller owns the loops: it runs Engine.Run and Webhook.Run under one
// context and waits for both to return.
package alert
