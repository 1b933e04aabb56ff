package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// Probe command defaults and bounds.
const (
	defaultProbeRounds   = 3
	defaultProbeInterval = 200 * time.Millisecond
	maxProbeRounds       = 100
	// probeRequestsPerRound is the most requests one round makes of a
	// mirror: the checksum database's /supported, @v/list, .info, .mod,
	// .zip and @latest.
	probeRequestsPerRound = 6
)

// Exit statuses of the probe command.
const (
	exitProbeHealthy  = exitOK     // every mirror is healthy
	exitProbeDegraded = exitFailed // some are not, but at least one is usable
	exitProbeUnusable = 2          // none is usable
)

// probeOptions are the probe command's own flags.
type probeOptions struct {
	json     bool
	rounds   int
	interval time.Duration
}

// addProbeFlags defines the probe command's own flags on fs.
func addProbeFlags(fs *flag.FlagSet) *probeOptions {
	o := &probeOptions{}
	fs.BoolVar(&o.json, "json", false, "print the report as JSON")
	fs.IntVar(&o.rounds, "rounds", defaultProbeRounds, "probe rounds")
	fs.DurationVar(&o.interval, "interval", defaultProbeInterval, "pause between probe rounds")
	return o
}

// probeCommand runs `gofailover probe`. fs is the command's flag set and
// args its arguments after the command name; goEnv reads the go command's
// settings. It returns the exit status.
func probeCommand(ctx context.Context, fs *flag.FlagSet, args, environ []string, goEnv goEnvFunc, stdout, stderr io.Writer) int {
	check, err := parseProbeCheck(fs, args, environ, goEnv)
	if errors.Is(err, flag.ErrHelp) {
		return printHelp(stdout, stderr, probeHelp)
	}
	if err != nil {
		return commandError(stderr, "probe", err)
	}
	report, err := check.run(ctx, upstream.New(check.client))
	if err != nil {
		fmt.Fprintf(stderr, "gofailover: probe: %v\n", err)
		return exitFailed
	}
	if check.opts.json {
		err = writeProbeJSON(stdout, report)
	} else {
		err = writeProbeTable(stdout, report)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gofailover: probe: %v\n", err)
		return exitFailed
	}
	return report.Verdict.exitStatus()
}

// probeCheck is one run of the probe command: the mirrors and what to ask
// them.
type probeCheck struct {
	opts      probeOptions
	upstreams []*health.Upstream
	probe     health.ProbeConfig
	client    upstream.Config
}

// parseProbeCheck reads the command line and the settings into a
// probeCheck. Errors other than the flag package's are configErrors.
func parseProbeCheck(fs *flag.FlagSet, args, environ []string, goEnv goEnvFunc) (*probeCheck, error) {
	opts, cfg, urls, err := loadProbeSettings(fs, args, environ)
	if err != nil {
		return nil, err
	}
	if opts.rounds < 1 || opts.rounds > maxProbeRounds {
		return nil, configErrorf("probe: --rounds must be from 1 to %d, got %d", maxProbeRounds, opts.rounds)
	}
	if opts.interval < 0 {
		return nil, configErrorf("probe: --interval must not be negative, got %v", opts.interval)
	}
	if err := positive("PROBE_TIMEOUT", cfg.ProbeTimeout); err != nil {
		return nil, err
	}
	if err := cfg.probeConfig(nil).Validate(); err != nil {
		return nil, configErrorf("%sPROBE_MODULE: %v", envPrefix, err)
	}
	if err := cfg.resolveSumDB(goEnv); err != nil {
		return nil, err
	}
	pc := cfg.probeConfig(nil)
	if pc.Module == "" && pc.SumDB == "" {
		return nil, configErrorf("probe: nothing to probe: %sPROBE_MODULE is empty and %sSUMDB is off", envPrefix, envPrefix)
	}
	var ups []*health.Upstream
	if len(urls) > 0 {
		if ups, err = health.NewUpstreams(urls, cfg.limits()); err != nil {
			return nil, configErrorf("probe: %v", err)
		}
	} else {
		if err := cfg.resolveUpstreams(goEnv); err != nil {
			return nil, err
		}
		if ups, err = health.NewUpstreams(cfg.Upstreams, cfg.limits()); err != nil {
			return nil, configErrorf("%sUPSTREAMS: %v", envPrefix, err)
		}
	}
	pc.Full = true
	// The time between one mirror's rounds: the pause, and the wait for
	// the slowest mirror's round, each of whose requests ends within the
	// timeout. Lists from the round before are compared within it.
	pc.Interval = opts.interval + probeRequestsPerRound*pc.Timeout
	return &probeCheck{
		opts:      *opts,
		upstreams: ups,
		probe:     pc,
		client:    cfg.clientConfig(),
	}, nil
}

// loadProbeSettings reads the probe command's flags, the settings (as
// serve reads them: flags and environment) and the mirror URLs given as
// arguments, before, after or between the flags.
func loadProbeSettings(fs *flag.FlagSet, args, environ []string) (*probeOptions, *Config, []string, error) {
	opts := addProbeFlags(fs)
	cfg, urls, err := loadConfigArgs(fs, args, environ)
	return opts, cfg, urls, err
}

// run probes every mirror opts.rounds times, pausing in between, and
// returns the report. It fails only when ctx is done first.
func (c *probeCheck) run(ctx context.Context, client health.Requester) (*probeReport, error) {
	rounds := time.Duration(c.opts.rounds)
	pool := health.NewPool(c.upstreams, health.Config{
		// Keep every probe of the run in the statistics.
		Window:        max(health.DefaultConfig().Window, rounds*c.probe.Interval),
		WindowSamples: c.opts.rounds * probeRequestsPerRound,
	}, nil)
	prober := health.NewProber(pool, c.probe, client, nil)
	results := make([][]health.ProbeResult, 0, c.opts.rounds)
	for i := range c.opts.rounds {
		if i > 0 && !health.Sleep(ctx, c.opts.interval) {
			break
		}
		results = append(results, prober.ProbeOnce(ctx))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("probing %d mirrors was interrupted: %w", len(c.upstreams), err)
	}
	return summarize(c, results, pool.Snapshot()), nil
}
