package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// helpWidth is the widest line of any help text.
const helpWidth = 80

// printHelp writes the help text h writes to stdout and returns the exit
// status: 0, or 1 when it cannot be written.
func printHelp(stdout, stderr io.Writer, h func(io.Writer)) int {
	var b bytes.Buffer
	h(&b)
	if _, err := stdout.Write(b.Bytes()); err != nil {
		fmt.Fprintf(stderr, "gofailover: writing the help: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// commandHelp is each command's own --help.
var commandHelp = map[string]func(io.Writer){
	"serve":       serveHelp,
	"status":      statusHelp,
	"probe":       probeHelp,
	"healthcheck": healthcheckHelp,
	"version":     versionHelp,
	"help":        helpHelp,
}

// mainHelp is `gofailover --help`: the commands, and where the settings
// are described.
func mainHelp(w io.Writer) {
	fmt.Fprint(w, `gofailover is a Go module proxy in front of several upstream mirrors.

Usage:
  gofailover [serve] [flags]      start the proxy (the default command)
  gofailover status [flags]       print the running proxy's view of the
                                  upstreams, the alerts and the cache
  gofailover probe [flags] [URL]  check the mirrors once, without a server
  gofailover healthcheck [flags]  exit 0 if the proxy answers /healthz
  gofailover version              print the version (also --version)
  gofailover help [COMMAND]       print this help, or a command's

Run 'gofailover COMMAND --help' for a command's flags.

Settings are environment variables (GOFAILOVER_LISTEN, ...) or flags of
the same name (--listen, ...); the flag wins. 'gofailover serve --help'
lists them; README.md, section Settings, describes each in full.

Point the go command at the proxy:
  go env -w GOPROXY=http://127.0.0.1:3131
`)
}

// serveHelp is `gofailover serve --help`: the command and the settings,
// one line each.
func serveHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: gofailover [serve] [flags]

Starts the proxy on GOFAILOVER_LISTEN in front of GOFAILOVER_UPSTREAMS
(default: the mirrors in 'go env GOPROXY') and serves until SIGINT or
SIGTERM. A bad setting exits 2 with one line naming it.

Settings: each flag is also an environment variable, GOFAILOVER_ and the
flag's name in capitals with _ for - (--cache-dir: GOFAILOVER_CACHE_DIR);
the flag wins. README.md, section Settings, describes each in full.

`)
	printSettingsCompact(w)
}

// printSettingsCompact lists the settings one line each: the flag with
// its default, and as much of its meaning as fits.
func printSettingsCompact(w io.Writer) {
	const column = 32
	for _, s := range settings() {
		left := "  --" + s.flag
		if s.def != "" {
			left += "=" + s.def
		}
		left += strings.Repeat(" ", max(2, column-len(left)))
		short, ok := shortUsage[s.flag]
		if !ok {
			short = summary(s.usage)
		}
		fmt.Fprintf(w, "%s%s\n", left, clip(short, helpWidth-len(left)))
	}
}

// shortUsage is each setting's meaning in a few words, for the list of
// serve --help; a setting not here shows the start of its usage text.
var shortUsage = map[string]string{
	"listen":                   "address the proxy listens on",
	"upstreams":                "mirror URLs, in order (a GOPROXY value works)",
	"cache-dir":                "cache directory",
	"cache-max-size":           "most bytes cached, as 20GiB (0: no bound)",
	"cache-reserve":            "free disk space kept, as 2GiB or 5%",
	"scrub-rate":               "bytes/s re-hashed by the scrub (0: off)",
	"scrub-interval":           "how often a scrub pass starts (>= 1m)",
	"cache-keep-stale":         "age past which stale answers go (0: kept)",
	"sumdb":                    "checksum database, as GOSUMDB, or off",
	"private":                  "private module patterns, as GOPRIVATE",
	"private-upstreams":        "mirror URLs for private modules",
	"mutable-ttl":              "how long lists and @latest stay fresh",
	"connect-timeout":          "timeout connecting to an upstream",
	"first-byte-timeout":       "timeout for an upstream's response header",
	"idle-timeout":             "abandon a body stalled for this long",
	"min-body-rate":            "abandon a body slower than this, per second",
	"upstream-max-concurrency": "requests in flight to one upstream",
	"hedge-floor":              "least wait before hedging (>= 1ms)",
	"hedge-ceiling":            "most wait before hedging",
	"hedge-budget":             "hedged share of requests (0: no hedging)",
	"hedge-burst":              "hedges per minute beyond the budget",
	"probe-interval":           "how often upstreams are probed (>= 1s; 0: off)",
	"probe-timeout":            "timeout of one probe request (>= 10ms)",
	"probe-module":             "module@version probed, or off",
	"private-probe-module":     "module@version probed on private upstreams",
	"health-window":            "span of latency and error rate (>= 1s)",
	"latency-half-life":        "how fast the latency average forgets",
	"failure-cost":             "a failure's cost when ranking upstreams",
	"stale-penalty":            "score added to a stale upstream",
	"routing-hysteresis":       "share by which a rival must beat the leader",
	"breaker-failures":         "failures in a row that open the breaker",
	"breaker-error-rate":       "error rate that opens the breaker (0 to 1)",
	"breaker-min-samples":      "fewest results for that error rate",
	"breaker-backoff":          "wait before trials, doubling (>= 100ms)",
	"breaker-max-backoff":      "longest breaker backoff",
	"breaker-trials":           "good trials that close the breaker",
	"quarantine":               "how long a mirror serving bad content is out",
	"alert-webhook":            "URL alerts are POSTed to as JSON",
	"alertmanager-url":         "Alertmanager URLs alerts are sent to",
	"alert-for":                "how long a condition holds to fire (>= 1s)",
	"alert-latency-floor":      "latency under which no latency alert fires",
	"alert-latency-k":          "latency alert above mean + this many sigma",
	"alert-error-rate":         "error rate that fires its alert (0 to 1)",
	"max-connections":          "most client connections (0: from the fd limit)",
	"client-read-timeout":      "time for a client to send its request",
	"client-write-timeout":     "time for a client to take each 256 KiB",
	"client-idle-timeout":      "how long an idle client connection stays",
	"shutdown-timeout":         "how long SIGTERM waits for requests",
	"log-level":                "debug, info, warn or error",
	"badger-log-level":         "level of the cache index's own log lines",
	"log-format":               "text or json",
}

// summary is the first clause of a setting's usage text: up to its first
// parenthesis or semicolon.
func summary(usage string) string {
	if i := strings.IndexAny(usage, "(;"); i > 0 {
		usage = usage[:i]
	}
	return strings.TrimRight(usage, " ,:")
}

// clip cuts s to at most n runes, at a space, marking the cut with "…".
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n-1])
	if i := strings.LastIndexByte(cut, ' '); i > 0 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,") + "…"
}

// statusHelp is `gofailover status --help`.
func statusHelp(w io.Writer) {
	fmt.Fprintf(w, `Usage: gofailover status [--json] [--url URL] [flags]

Prints each upstream's state and since when, error rate, latency and last
error, then the firing and pending alerts and the cache, as the proxy at
GOFAILOVER_LISTEN (or --url) sees them.

  --json       print the server's status.json as it is
  --url URL    base URL of the server to ask (default: the one at
               GOFAILOVER_LISTEN, --listen)

Exit status:
  %d  every upstream is healthy
  %d  an upstream is degraded, open, half-open or quarantined; or the
     status could not be read (one line on stderr says why)
  %d  a P0 alert is firing (every upstream is down); or a bad argument
`, exitStatusHealthy, exitStatusDegraded, exitStatusP0)
}

// probeHelp is `gofailover probe --help`.
func probeHelp(w io.Writer) {
	fmt.Fprintf(w, `Usage: gofailover probe [--json] [--rounds N] [--interval D] [flags] [URL ...]

Checks mirrors once, without a server: the URLs given, else the configured
upstreams (GOFAILOVER_UPSTREAMS, else 'go env GOPROXY'). Each round asks
every mirror for the checksum database's /supported (GOFAILOVER_SUMDB) and
the probe module's @v/list, .info, .mod, .zip and @latest
(GOFAILOVER_PROBE_MODULE), each within GOFAILOVER_PROBE_TIMEOUT. It prints
per mirror its verdict, the answers per endpoint, failed requests, latency
p50/p95/p99 to the first byte and the versions its @v/list lacks (stale),
then one line per problem.

  --json        print the same as JSON
  --rounds N    rounds of requests, %d at most (default %d)
  --interval D  pause between rounds (default %v)

Verdicts: healthy (every request answered: 200, or 404/410 where no other
mirror serves the file), degraded (failures, stale, or a 404/410 where
another mirror serves the file), unusable (no answer at all).

Exit status:
  %d  every mirror is healthy
  %d  some are not, but at least one is usable
  %d  none is usable; or a bad argument or setting
`, maxProbeRounds, defaultProbeRounds, defaultProbeInterval, exitProbeHealthy, exitProbeDegraded, exitProbeUnusable)
}

// healthcheckHelp is `gofailover healthcheck --help`.
func healthcheckHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: gofailover healthcheck [flags]

Asks the proxy at GOFAILOVER_LISTEN (--listen) for /healthz, for container
HEALTHCHECKs in images without an HTTP client.

Exit status: 0 when it answers 200, 1 when it does not, 2 on a bad setting.
`)
}

// versionHelp is `gofailover version --help`.
func versionHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: gofailover version
       gofailover --version

Prints the module version of this binary and, when the build recorded
them, its VCS revision and commit time, then the Go version that built it.
`)
}

// helpHelp is `gofailover help --help`.
func helpHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: gofailover help [COMMAND]

Prints the list of commands, or COMMAND's own help (as COMMAND --help).
`)
}
