// Command gofailover is a Go module proxy that sits between the go command
// and several upstream module mirrors, sends each request to a mirror that
// can answer it, and caches everything so that builds keep working when the
// mirrors do not.
//
// Usage:
//
//	gofailover [serve] [flags]
//	gofailover status [--json] [--url URL] [flags]
//	gofailover probe [--json] [--rounds N] [--interval D] [flags] [URL ...]
//	gofailover healthcheck [flags]
//	gofailover version
//	gofailover help [COMMAND]
//
// Run `gofailover --help` for the commands, and `gofailover serve --help`
// for the settings.
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
	"slices"
	"strings"
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

// commands are gofailover's subcommands, in the order the help lists them.
var commands = []string{"serve", "status", "probe", "healthcheck", "version", "help"}

// run runs one gofailover invocation and returns its exit status.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		switch a := args[0]; {
		case a == "-h" || a == "-help" || a == "--help":
			return printHelp(stdout, stderr, mainHelp)
		case a == "-version" || a == "--version":
			cmd, args = "version", args[1:]
		case slices.Contains(commands, a):
			cmd, args = a, args[1:]
		case len(a) > 0 && a[0] != '-':
			fmt.Fprintf(stderr, "gofailover: unknown command %q\nrun 'gofailover --help'\n", a)
			return exitUsage
		}
	}
	fs := flag.NewFlagSet("gofailover "+cmd, flag.ContinueOnError)
	// Errors and help are printed here, one line and a hint, not by the
	// flag package.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	switch cmd {
	case "help":
		return helpCommand(args, stdout, stderr)
	case "version":
		return versionCommand(fs, args, stdout, stderr)
	case "probe":
		return probeCommand(ctx, fs, args, environ, goCommandEnv, stdout, stderr)
	}

	var statusOpts *statusOptions
	if cmd == "status" {
		statusOpts = addStatusFlags(fs)
	}
	cfg, positional, err := loadConfigArgs(fs, args, environ)
	if err == nil {
		err = noArguments(positional)
	}
	if errors.Is(err, flag.ErrHelp) {
		return printHelp(stdout, stderr, commandHelp[cmd])
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
		return commandError(stderr, cmd, err)
	}
	if len(cfg.droppedUpstreams) > 0 {
		newLogger(cfg, stderr).Info(envPrefix+"UPSTREAMS: dropped the entries that name no mirror, as a GOPROXY value has them",
			"dropped", strings.Join(cfg.droppedUpstreams, ","), "upstreams", strings.Join(cfg.Upstreams, ","))
	}
	return serve(ctx, cfg, stderr)
}

// commandError reports a bad command line or setting of the command cmd
// and returns the exit status for it, 2. A configError, a bad setting, is
// one line naming it; any other error is the flag package's or a stray
// argument, and is followed by a line pointing at the command's help.
func commandError(stderr io.Writer, cmd string, err error) int {
	if errors.As(err, new(*configError)) {
		return usageError(stderr, err)
	}
	fmt.Fprintf(stderr, "gofailover %s: %v\nrun 'gofailover %s --help'\n", cmd, err, cmd)
	return exitUsage
}

// usageError reports a bad setting or argument, err, in one line on
// stderr and returns the exit status for it.
func usageError(stderr io.Writer, err error) int {
	var ce *configError
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "gofailover: %s\n", ce.msg)
	} else {
		fmt.Fprintf(stderr, "gofailover: %v\n", err)
	}
	return exitUsage
}

// helpCommand runs `gofailover help [COMMAND]`: the main help, or the
// command's own.
func helpCommand(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		return printHelp(stdout, stderr, mainHelp)
	case len(args) > 1:
		return commandError(stderr, "help", fmt.Errorf("unexpected argument %q", args[1]))
	}
	if h, ok := commandHelp[args[0]]; ok {
		return printHelp(stdout, stderr, h)
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		return printHelp(stdout, stderr, helpHelp)
	}
	return commandError(stderr, "help", fmt.Errorf("unknown command %q", args[0]))
}

// versionCommand runs `gofailover version`, which takes no argument.
func versionCommand(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	rest, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return printHelp(stdout, stderr, commandHelp["version"])
	}
	if err == nil {
		err = noArguments(rest)
	}
	if err != nil {
		return commandError(stderr, "version", err)
	}
	if err := printVersion(stdout, readVersion()); err != nil {
		fmt.Fprintf(stderr, "gofailover: %v\n", err)
		return exitFailed
	}
	return exitOK
}
