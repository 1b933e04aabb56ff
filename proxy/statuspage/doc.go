// Package statuspage owns gofailover's status page: what the server shows
// people about its upstream mirrors, alerts, cache and shared store, and how
// it shows it.
//
// The page answers at a glance which mirror is sick, since when, how badly,
// and whether anyone got hurt. It is one server-rendered HTML document with
// inline CSS and inline SVG plots, no script and no external asset, so it
// works in an offline office and on a phone. Handler serves it at / and the
// same data as JSON at /status.json; DecodeReport reads that JSON back and
// WriteText prints it for a terminal (the gofailover status command).
//
// The package does not collect anything. The server fills in a Report, the
// package's own data model, from whatever keeps the history and the
// alerts, through a Source called for each request.
//
// # The JSON
//
// /status.json is a Report. Names are snake_case; durations are numbers of
// seconds in fields ending in _seconds; ratios are numbers from 0 to 1;
// times are RFC 3339 strings, and a time that is not known is left out.
// Unknown fields must be ignored by readers, as DecodeReport does.
//
//	{
//	  "generated_at": "2026-03-10T12:00:00Z",
//	  "version": "v1.4.0",
//	  "started_at": "2026-03-10T09:00:00Z",
//	  "verification": {"enabled": true, "database": "sum.example.org"},
//	  "upstreams": [{
//	    "name": "https://mirror-a.example.com",   // URL without credentials
//	    "preferred": true,                        // the first configured; left out when false
//	    "private": true,                          // for private modules only; left out when false
//	    "state": "healthy",                       // healthy, degraded, open, half-open or quarantined
//	    "since": "2026-03-10T09:00:00Z",          // when it entered that state
//	    "until": "2026-03-10T12:05:00Z",          // open or quarantined: when it is next tried
//	    "samples": 420,                           // outcomes in the health window; 0: the next six are unknown
//	    "score_seconds": 0.081,                   // expected cost of one attempt, lower is better
//	    "p50_seconds": 0.06, "p95_seconds": 0.14, "p99_seconds": 0.3, // time to first byte
//	    "error_rate": 0.004,                      // failures in the health window
//	    "consecutive_failures": 0,                // left out when 0
//	    "why": "stale: answered 404 for /m/@v/list, which https://b serves", // what else ranks it behind; left out when nothing
//	    "last_error": "timeout awaiting response headers",
//	    "last_error_at": "2026-03-10T11:40:02Z",
//	    "traffic_share": 0.93,                    // share of upstream requests over the health window
//	    "requests": 12000, "failures": 31,        // users' requests since start
//	    "probes": 720, "probe_failures": 2        // health probes since start
//	  }],
//	  "ranges": [{
//	    "name": "last hour",
//	    "from": "2026-03-10T11:00:00Z", "to": "2026-03-10T12:00:00Z",
//	    "step_seconds": 60,                       // points further apart than 1.5 steps are not joined
//	    "series": [{
//	      "upstream": "https://mirror-a.example.com",
//	      "points": [{"t": "2026-03-10T11:01:00Z", "p50_seconds": 0.06, "p95_seconds": 0.14,
//	                  "p99_seconds": 0.3, "error_rate": 0, "traffic_share": 0.95},
//	                 {"t": "2026-03-10T11:02:00Z", ..., "missing": true}]  // no data: a gap
//	    }]
//	  }],
//	  "alerts": [{
//	    "rule": "upstream_error_rate", "upstream": "https://mirror-b.example.com",
//	    "severity": "P1",                         // P0 (users failing now), P1 or P2
//	    "state": "firing",                        // firing, pending or resolved
//	    "since": "2026-03-10T11:48:00Z", "fired_at": "2026-03-10T11:50:00Z", "resolved_at": "…",
//	    "value": 0.62, "threshold": 0.2,
//	    "unit": "ratio",                          // seconds, ratio, or left out for a plain number
//	    "summary": "mirror-b fails most requests"
//	  }],
//	  "cache": {"entries": 18234, "bytes": 1288490188, "hits": 90210, "misses": 7711, "stale": 12, "hit_ratio": 0.92},
//	  "clients": {"requests": 98000, "failed": 3}, // left out when not known
//	  "shared_store": {                         // left out when no shared store is configured
//	    "name": "s3://go-cache/fleet",            // URL without credentials
//	    "state": "open",                          // as an upstream's; open, half-open, quarantined: down
//	    "since": "2026-03-10T11:59:00Z", "episode_since": "2026-03-10T11:47:00Z", "until": "…",
//	    "samples": 12, "p50_seconds": 0.012, "p95_seconds": 0.04, "p99_seconds": 0.09,
//	    "error_rate": 0.5, "consecutive_failures": 4,
//	    "last_error": "connection refused", "last_error_at": "2026-03-10T11:59:40Z",
//	    "hits": 5120, "misses": 830, "errors": 14, "bypassed": 210, // bypassed: not asked while down
//	    "bytes_read": 73400320, "bytes_written": 1048576,
//	    "uploads": {"uploaded": 800, "present": 25, "failed": 2, "dropped": 0, "queue": 3},
//	    "corrupt_objects": 0                    // failed the checks: deleted, never served
//	  }
//	}
//
// A number that JSON cannot hold (NaN, infinity) is served as 0, and the
// point holding one is marked missing.
package statuspage
