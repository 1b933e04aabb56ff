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
		fmt.Fprintf(w, "%s%s\n", left, clip(summary(s.usage), helpWidth-len(left)))
	}
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
