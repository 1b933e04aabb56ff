// Command gofailover is a Go module proxy that sits between the go command
// and several upstream module mirrors, sends each request to a mirror that
// can answer it, and caches everything so that builds keep working when the
// mirrors do not.
//
// Usage:
//
//	gofailover [serve] [flags]
//	gofailover healthcheck [flags]
//	gofailover status [--json] [--url URL] [flags]
//	gofailover probe [--json] [--rounds N] [--interval D] [flags] [URL ...]
//
// Run `gofailover --help` for the settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// run runs one gofailover invocation and returns its exit status.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "help" || args[0] == "serve" || args[0] == "healthcheck" || args[0] == "status" || args[0] == "probe") {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		fmt.Fprintf(stderr, "gofailover: unknown command %q; run 'gofailover --help'\n", args[0])
		return exitUsage
	}
	fs := flag.NewFlagSet("gofailover "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(stdout) }
	if cmd == "help" {
		usage(stdout)
		return exitOK
	}
	if cmd == "probe" {
		return probeCommand(ctx, fs, args, environ, goCommandEnv, stdout, stderr)
	}

	var statusOpts *statusOptions
	if cmd == "status" {
		statusOpts = addStatusFlags(fs)
	}
	cfg, err := loadConfig(fs, args, environ)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err == nil && cmd == "healthcheck" {
		return healthcheck(ctx, cfg, stderr)
	}
	if err == nil && cmd == "status" {
		return status(ctx, cfg, statusOpts, http.DefaultClient, stdout, stderr)
	}
	if err == nil {
		err = cfg.validate(goCommandEnv)
	}
	if err != nil {
		return usageError(stderr, err)
	}
	return serve(ctx, cfg, stderr)
}

// usageError reports a bad setting or argument in one line on stderr and
// returns the exit status for it. A configError carries its line; any other
// error comes from the flag package, which has already printed it.
func usageError(stderr io.Writer, err error) int {
	var ce *configError
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "gofailover: %s\n", ce.msg)
	} else {
		fmt.Fprintln(stderr, "gofailover: run 'gofailover --help' for the settings")
	}
	return exitUsage
}

// usage prints the help text.
func usage(w io.Writer) {
	fmt.Fprint(w, `gofailover is a Go module proxy in front of several upstream mirrors.

Usage:
  gofailover [serve] [flags]       start the proxy (the default command)
  gofailover healthcheck [flags]   exit 0 if the proxy at the listen address is alive
  gofailover status [flags]        print the upstreams' health, the alerts and the cache
                                   as the proxy at the listen address sees them;
                                   --json prints its status.json, --url asks another server
  gofailover probe [flags] [URL]   check the mirrors once and print a report; exit 0 if
                                   all are healthy (see Probe below)
  gofailover help                  print this help

Point the go command at it:
  go env -w GOPROXY=http://127.0.0.1:3131

Settings (each an environment variable and a flag; the flag wins):
`)
	printSettings(w)
	printProbeUsage(w)
}
