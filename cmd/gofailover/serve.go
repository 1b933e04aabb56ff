package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
)

// serve runs the proxy until ctx is cancelled, then drains in-flight
// requests and closes the store. It returns the process exit status.
func serve(ctx context.Context, cfg *Config, stderr io.Writer) int {
	log := newLogger(cfg, stderr)
	srv, err := newServer(cfg, log)
	if err != nil {
		var ce *configError
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "gofailover: %s\n", ce.msg)
			return exitUsage
		}
		log.Error("start-up failed", "err", err)
		return exitFailed
	}
	if err := srv.run(ctx); err != nil {
		log.Error("server failed", "err", err)
		return exitFailed
	}
	return exitOK
}

// newLogger builds the process logger from the configuration.
func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// server is a running gofailover: its listener, HTTP server and store.
type server struct {
	cfg      *Config
	log      *slog.Logger
	store    *cache.Store
	listener net.Listener
	http     *http.Server
	handler  *proxy.Handler
	// prober probes the public upstreams in the background; nil when off.
	prober *health.Prober
	// fetchCtx outlives the signal so that in-flight fetches can finish
	// while the server drains; cancelFetch ends them after the drain.
	fetchCtx    context.Context
	cancelFetch context.CancelFunc
}

// newServer opens the store, binds the listener and wires the handler.
func newServer(cfg *Config, log *slog.Logger) (*server, error) {
	upstreams, err := health.NewUpstreams(cfg.Upstreams)
	if err != nil {
		return nil, configErrorf("%sUPSTREAMS: %v", envPrefix, err)
	}
	privateUpstreams, err := health.NewUpstreams(cfg.PrivateUpstreams)
	if err != nil {
		return nil, configErrorf("%sPRIVATE_UPSTREAMS: %v", envPrefix, err)
	}
	pool := health.NewPool(upstreams, cfg.healthConfig(), nil)
	var privateRouter proxy.Router
	if len(privateUpstreams) > 0 {
		privateRouter = health.NewPool(privateUpstreams, cfg.healthConfig(), nil)
	}
	store, err := cache.Open(cache.Options{Dir: cfg.CacheDir, Logger: log.With("component", "cache")})
	if errors.Is(err, cache.ErrLocked) {
		return nil, configErrorf("%sCACHE_DIR: %s is in use by another gofailover process", envPrefix, cfg.CacheDir)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the cache in %s: %w", cfg.CacheDir, err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		store.Close()
		return nil, configErrorf("%sLISTEN: cannot listen on %s: %v", envPrefix, cfg.Listen, errors.Unwrap(err))
	}
	fetchCtx, cancelFetch := context.WithCancel(context.Background())
	client := proxy.NewUpstreamClient(proxy.UpstreamTimeouts{
		Connect:   cfg.ConnectTimeout,
		FirstByte: cfg.FirstByteTimeout,
	})
	var prober *health.Prober
	if cfg.ProbeInterval > 0 {
		prober = health.NewProber(pool, cfg.probeConfig(log.With("component", "probe")), client, nil)
	}
	handler := proxy.New(fetchCtx, proxy.Config{
		Store:          store,
		Router:         pool,
		Private:        cfg.Private,
		PrivateRouter:  privateRouter,
		SumDB:          cfg.sumDB,
		Client:         client,
		MutableTTL:     cfg.MutableTTL,
		MaxPerUpstream: cfg.UpstreamMaxConcurrency,
		HedgeFloor:     cfg.HedgeFloor,
		HedgeCeiling:   cfg.HedgeCeiling,
		HedgeBudget:    cfg.hedgeBudget(),
		HedgeBurst:     cfg.hedgeBurst(),
		IdleTimeout:    cfg.IdleTimeout,
		Logger:         log.With("component", "proxy"),
	})
	s := &server{
		cfg:      cfg,
		log:      log,
		store:    store,
		listener: ln,
		http: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
		handler:     handler,
		prober:      prober,
		fetchCtx:    fetchCtx,
		cancelFetch: cancelFetch,
	}
	for _, u := range upstreams {
		log.Info("upstream", "rank", u.Rank, "url", u.Name)
	}
	for _, u := range privateUpstreams {
		log.Info("private upstream", "rank", u.Rank, "url", u.Name)
	}
	if cfg.Private != "" {
		log.Info("private modules: never verified, never sent to a public upstream", "patterns", cfg.Private)
	}
	if cfg.sumDB == nil {
		log.Warn("checksum verification is off (GOFAILOVER_SUMDB=off): module files are cached and served unverified")
	} else {
		log.Info("verifying module files against the checksum database", "name", cfg.sumDB.Name)
	}
	return s, nil
}

// run serves until ctx is done, then shuts down in order: stop accepting,
// drain in-flight requests, end fetches, close the store.
func (s *server) run(ctx context.Context) error {
	s.log.Info("gofailover listening", "addr", s.listener.Addr().String(), "cache", s.cfg.CacheDir)
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.http.Serve(s.listener) }()
	probeCtx, stopProbes := context.WithCancel(context.Background())
	probesDone := make(chan struct{})
	go func() {
		defer close(probesDone)
		if s.prober != nil {
			s.prober.Run(probeCtx)
		}
	}()

	var err error
	select {
	case err = <-serveErr:
		err = fmt.Errorf("serving on %s: %w", s.listener.Addr(), err)
	case <-ctx.Done():
		s.log.Info("shutting down: draining in-flight requests", "timeout", s.cfg.ShutdownTimeout)
		drainCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		if derr := s.http.Shutdown(drainCtx); derr != nil {
			s.log.Warn("drain incomplete; closing remaining connections", "err", derr)
			s.http.Close()
		}
		cancel()
		<-serveErr
	}
	stopProbes()
	<-probesDone
	s.cancelFetch()
	s.handler.Wait()
	if cerr := s.store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing the cache: %w", cerr)
	}
	s.log.Info("stopped")
	return err
}
