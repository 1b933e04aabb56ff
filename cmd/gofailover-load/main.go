// Command gofailover-load measures gofailover's cache-hit path against a
// baseline net/http server that serves the same bytes (by default from
// memory, with http.ServeContent; -baseline files: http.FileServer from
// disk), side by side in one run, with 32 clients, and checks the figures
// against the product targets:
//
//   - .info and .mod answers: gofailover's requests per second at least the
//     baseline's (ratio >= 1.0);
//   - module zips (about 1.9 MiB and 40 MiB): gofailover's throughput at
//     least 0.9 of the baseline's;
//   - gofailover's idle resident set at most 40 MiB once its cache holds
//     every fixture, a 100 MiB zip included;
//   - gofailover's resident set at most 100 MiB while 32 clients download
//     the 100 MiB zip at once.
//
// It builds gofailover from this module and starts it as a child process in
// front of an in-process mirrortest mirror; the baseline is a second
// child process (this same program in its hidden -fileserver mode) so that
// neither server shares a Go runtime with the load generator. After warming
// gofailover's cache it closes the mirror, so every measured request is a
// cache hit. Trials alternate which server goes first, and the table shows
// medians with their spread. Everything listens on 127.0.0.1 only, every
// loop is bounded, and the command stops by itself.
//
// Usage:
//
//	go run ./cmd/gofailover-load [flags]
//
// Run it with -help for the flags; README.md in this directory explains how
// to read the table.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && strings.TrimLeft(os.Args[1], "-") == "fileserver" {
		os.Exit(fileServerMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitPass   = 0 // every target met
	exitFail   = 1 // the run finished but a target was missed or a request failed
	exitUsage  = 2 // bad flags
	exitBroken = 3 // the run could not be set up or was cut short
)

// errFlagsReported is a flag error the flag package has already printed.
var errFlagsReported = errors.New("bad flags")

// options are the command-line settings.
type options struct {
	duration    time.Duration
	trials      int
	clients     int
	zipClients  int
	bigClients  int
	zipSizes    []int64
	bigSize     int64
	settle      time.Duration
	sampleEvery time.Duration
	timeout     time.Duration
	json        bool
	keep        bool
	childEnv    []string
	src         string
	writeChunk  int64
	baseline    string // "memory" or "files"
}

// parseOptions reads the flags.
func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("gofailover-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 2*time.Second, "length of each measured run (one server, one target, one trial)")
	fs.IntVar(&o.trials, "trials", 5, "number of trials; each runs every target on both servers, alternating which goes first")
	fs.StringVar(&o.baseline, "baseline", "memory", "what gofailover is compared with: memory (a net/http handler serving the same bytes from memory with http.ServeContent) or files (http.FileServer over the same bytes on disk)")
	fs.IntVar(&o.clients, "clients", 32, "concurrent keep-alive clients for the small answers (.info, .mod)")
	fs.IntVar(&o.zipClients, "zip-clients", 32, "concurrent keep-alive clients for the zip targets")
	fs.IntVar(&o.bigClients, "big-clients", 32, "clients downloading the big zip at once in the memory test")
	zipSizes := fs.String("zip-sizes", "1.9MiB,40MiB", "comma-separated sizes of the zips measured for throughput")
	bigSize := fs.String("big-size", "100MiB", "size of the big zip (warmed before the idle measurement; downloaded by -big-clients at once)")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "pause before an idle memory measurement")
	fs.DurationVar(&o.sampleEvery, "sample-every", 5*time.Millisecond, "VmRSS sampling interval during the big download")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "abort the whole run after this long")
	writeChunk := fs.String("fileserver-write-chunk", "0", "write the file server's files in pieces of this size (0: each in one write); 32KiB mimics how gofailover writes its blobs, which changes how the page cache holds them")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	fs.StringVar(&o.src, "src", "", "module root to build gofailover from (default: the gofailover module holding the working directory)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (binary, cache, file-server tree) and print its path")
	childEnv := fs.String("gofailover-env", "", "extra KEY=VALUE settings for the gofailover process, comma-separated (e.g. GOGC=50,GOMEMLIMIT=32MiB)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./cmd/gofailover-load [flags]\n\n"+
			"Measures gofailover's cache-hit path against a baseline net/http server; see README.md.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errFlagsReported // the flag package has printed what was wrong
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range strings.Split(*zipSizes, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := parseSize(s)
		if err != nil {
			return nil, fmt.Errorf("-zip-sizes: %v", err)
		}
		o.zipSizes = append(o.zipSizes, n)
	}
	var err error
	if o.bigSize, err = parseSize(*bigSize); err != nil {
		return nil, fmt.Errorf("-big-size: %v", err)
	}
	if *writeChunk != "0" {
		if o.writeChunk, err = parseSize(*writeChunk); err != nil {
			return nil, fmt.Errorf("-fileserver-write-chunk: %v", err)
		}
	}
	for _, kv := range strings.Split(*childEnv, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("-gofailover-env: %q is not KEY=VALUE", kv)
		}
		o.childEnv = append(o.childEnv, kv)
	}
	switch {
	case o.baseline != "memory" && o.baseline != "files":
		return nil, fmt.Errorf("-baseline must be memory or files, not %q", o.baseline)
	case o.duration <= 0 || o.duration > time.Minute:
		return nil, errors.New("-duration must be in (0, 1m]")
	case o.trials < 1 || o.trials > 100:
		return nil, errors.New("-trials must be in [1, 100]")
	case o.clients < 1 || o.clients > 1024, o.zipClients < 1 || o.zipClients > 1024, o.bigClients < 1 || o.bigClients > 1024:
		return nil, errors.New("-clients, -zip-clients and -big-clients must be in [1, 1024]")
	case o.bigSize < 1:
		return nil, errors.New("-big-size must be positive")
	case o.settle < 0 || o.settle > time.Minute:
		return nil, errors.New("-settle must be in [0, 1m]")
	case o.sampleEvery < time.Millisecond || o.sampleEvery > time.Second:
		return nil, errors.New("-sample-every must be in [1ms, 1s]")
	case o.timeout <= 0:
		return nil, errors.New("-timeout must be positive")
	}
	for _, n := range append([]int64{o.bigSize}, o.zipSizes...) {
		if n > maxZipSize {
			return nil, fmt.Errorf("zip size %d is larger than the %d-byte limit of a module zip", n, maxZipSize)
		}
	}
	return o, nil
}

// run does one load run and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitPass
	}
	if errors.Is(err, errFlagsReported) {
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "gofailover-load: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	b := &bench{opts: o, progress: newProgress(stderr)}
	rep, err := b.run(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "gofailover-load: %v\n", err)
		return exitBroken
	}
	if o.json {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeTable(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gofailover-load: writing the report: %v\n", err)
		return exitBroken
	}
	if !rep.Pass {
		return exitFail
	}
	return exitPass
}
