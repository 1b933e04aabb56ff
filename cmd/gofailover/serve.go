package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/health/alert"
	"github.com/gofailover/gofailover/health/history"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/clientlimit"
	"github.com/gofailover/gofailover/proxy/metrics"
	"github.com/gofailover/gofailover/proxy/sharedtier"
	"github.com/gofailover/gofailover/proxy/statuspage"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// serve runs the proxy until ctx is cancelled, then drains in-flight
// requests and closes the store. It returns the process exit status.
func serve(ctx context.Context, cfg *Config, stderr io.Writer) int {
	log := newLogger(cfg, stderr)
	srv, err := newServer(cfg, log)
	if err != nil {
		if errors.As(err, new(*configError)) {
			return usageError(stderr, err)
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
	listener *clientlimit.Listener
	http     *http.Server
	handler  *proxy.Handler
	// shared is the shared store's tier; nil without one.
	shared *sharedtier.Tier
	pools  pools
	// probers probe the public upstreams, and the private ones when a
	// private probe module is set, in the background; none when off.
	probers []*health.Prober
	// history keeps the upstreams' health as a time series.
	history *history.History
	// alerts evaluates the alert rules; webhook, nil when not configured,
	// posts their firings and resolutions.
	alerts  *alert.Engine
	webhook *alert.Webhook
	// alertmanager, nil when not configured, sends them to Alertmanager.
	alertmanager *alert.Alertmanager
	// metrics serves /metrics; status serves / and /status.json.
	metrics http.Handler
	status  http.Handler
	// fetchCtx outlives the signal so that in-flight fetches can finish
	// while the server drains; cancelFetch ends them after the drain.
	fetchCtx    context.Context
	cancelFetch context.CancelFunc
}

// newServer opens the store, binds the listener and wires the handler.
func newServer(cfg *Config, log *slog.Logger) (*server, error) {
	upstreams, err := health.NewUpstreams(cfg.Upstreams, cfg.limits())
	if err != nil {
		return nil, configErrorf("%sUPSTREAMS: %v", envPrefix, err)
	}
	privateUpstreams, err := health.NewUpstreams(cfg.PrivateUpstreams, cfg.limits())
	if err != nil {
		return nil, configErrorf("%sPRIVATE_UPSTREAMS: %v", envPrefix, err)
	}
	pool := health.NewPool(upstreams, cfg.healthConfig(), nil)
	var privateRouter proxy.Router
	var privatePool *health.Pool
	if len(privateUpstreams) > 0 {
		privatePool = health.NewPool(privateUpstreams, cfg.healthConfig(), nil)
		privateRouter = privatePool
	}
	var webhook *alert.Webhook
	var notify alert.Notifier
	if cfg.AlertWebhook != "" {
		webhook, err = alert.NewWebhook(alert.WebhookConfig{URL: cfg.AlertWebhook, Logger: log.With("component", "webhook")})
		if err != nil {
			return nil, configErrorf("%sALERT_WEBHOOK: %v", envPrefix, err)
		}
		notify = webhook
	}
	am, err := newAlertmanager(cfg, log)
	if err != nil {
		return nil, err
	}
	notify = notifiers(webhook, am)
	reserve, reservePercent := cfg.CacheReserve.cacheOptions()
	store, err := cache.Open(cache.Options{Dir: cfg.CacheDir, MaxBytes: int64(cfg.CacheMaxSize), Logger: log.With("component", "cache"), BadgerLogLevel: cfg.BadgerLogLevel,
		Reserve: reserve, ReservePercent: reservePercent,
		ScrubRate: cfg.scrubRate(), ScrubInterval: cfg.ScrubInterval,
		// Answers that can change, "not found" ones included, are what is
		// served stale when every upstream fails: the go command's
		// lookups of module path prefixes need their 404s then.
		ExpireNegativeAfter: cfg.CacheKeepStale, ExpireMutableAfter: cfg.CacheKeepStale})
	if errors.Is(err, cache.ErrLocked) {
		return nil, configErrorf("%sCACHE_DIR: %s is in use by another gofailover process", envPrefix, cfg.CacheDir)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the cache in %s: %w", cfg.CacheDir, err)
	}
	tier, err := openSharedTier(cfg, store, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	ln, err := listenClients(cfg, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	fetchCtx, cancelFetch := context.WithCancel(context.Background())
	client := upstream.New(cfg.clientConfig())
	var probers []*health.Prober
	if cfg.ProbeInterval > 0 {
		probers = append(probers, health.NewProber(pool, cfg.probeConfig(log.With("component", "probe")), client, nil))
		if privatePool != nil && cfg.PrivateProbeModule != "" {
			probers = append(probers, health.NewProber(privatePool, cfg.privateProbeConfig(log.With("component", "probe", "pool", "private")), client, nil))
		}
	}
	handler := proxy.New(fetchCtx, proxy.Config{
		Store:         store,
		Router:        pool,
		Private:       cfg.Private,
		PrivateRouter: privateRouter,
		SumDB:         cfg.sumDB,
		Client:        client,
		MutableTTL:    cfg.MutableTTL,
		HedgeFloor:    cfg.HedgeFloor,
		HedgeCeiling:  cfg.HedgeCeiling,
		HedgeBudget:   cfg.hedgeBudget(),
		HedgeBurst:    cfg.hedgeBurst(),
		Logger:        log.With("component", "proxy"),

		Prefetch:           proxy.Prefetch(cfg.Prefetch),
		Shared:             tier,
		SharedPrivate:      bool(cfg.SharedPrivate),
		SharedRedirectSize: int64(cfg.SharedRedirectSize),
	})
	s := &server{
		cfg:      cfg,
		log:      log,
		store:    store,
		listener: ln,
		http: &http.Server{
			ReadHeaderTimeout: cfg.ClientReadTimeout,
			IdleTimeout:       cfg.ClientIdleTimeout,
			ConnState:         ln.ConnState,
			ConnContext:       ln.ConnContext,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
		handler:     handler,
		shared:      tier,
		pools:       pools{public: pool, private: privatePool},
		probers:     probers,
		history:     history.New(history.Config{Store: historyStore{store}, Logger: log.With("component", "history")}),
		alerts:      alert.NewEngine(cfg.alertConfig(), notify, log.With("component", "alert"), alert.WithSharedStore(sharedHealth(tier))),
		webhook:     webhook,
		fetchCtx:    fetchCtx,
		cancelFetch: cancelFetch,
	}
	s.alertmanager = am
	metricPools := []metrics.Pool{{Name: "public", Pool: pool}}
	if privatePool != nil {
		metricPools = append(metricPools, metrics.Pool{Name: "private", Pool: privatePool})
	}
	reg := metrics.NewRegistry(metrics.Sources{
		Handler:      handler,
		Pools:        metricPools,
		Store:        store,
		FiringAlerts: s.firingAlerts,
		Connections:  ln,
		Shared:       sharedSource(tier),
	})
	reg.MustRegister(metrics.NewEpisodeCollector(metricPools))
	s.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)})
	src := &statusSource{
		pools:   s.pools,
		history: s.history,
		alerts:  s.alerts,
		store:   store,
		handler: handler,
		started: time.Now(),
		window:  cfg.HealthWindow,
		now:     time.Now,
		version: buildVersion(),
		shared:  sharedSource(tier),
	}
	if cfg.sumDB != nil {
		src.sumDB = cfg.sumDB.Name
	}
	s.status = statuspage.Handler(src, statuspage.WithLogger(log.With("component", "status")))
	s.http.Handler = ln.Handler(http.HandlerFunc(s.route))
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

// runBackground starts the loops that watch the upstreams: probes, the
// health history, alert evaluation and the webhook; and the clients'
// overload warning. Each stops when ctx is done; wg waits for them.
func (s *server) runBackground(ctx context.Context, wg *sync.WaitGroup) {
	for _, p := range s.probers {
		wg.Go(func() { p.Run(ctx) })
	}
	wg.Go(func() { s.history.Run(ctx, s.pools.Snapshot, health.SystemClock{}) })
	wg.Go(func() { s.alerts.Run(ctx, s.pools, health.SystemClock{}) })
	if s.webhook != nil {
		wg.Go(func() { s.webhook.Run(ctx) })
	}
	if s.alertmanager != nil {
		wg.Go(func() { s.alertmanager.Run(ctx) })
	}
	wg.Go(func() { s.listener.Run(ctx) })
}

// route sends /metrics to the metrics, / and /status.json to the status
// page, and everything else to the proxy.
func (s *server) route(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/metrics":
		s.metrics.ServeHTTP(w, r)
	case "/", "/status.json":
		s.status.ServeHTTP(w, r)
	default:
		s.handler.ServeHTTP(w, r)
	}
}

// firingAlerts counts the firing alerts by severity.
func (s *server) firingAlerts() map[string]int {
	n := map[string]int{}
	for _, a := range s.alerts.Alerts(time.Now()) {
		if a.State == alert.Firing {
			n[string(a.Severity)]++
		}
	}
	return n
}

// run serves until ctx is done, then shuts down in order: stop accepting,
// drain in-flight requests, end fetches, close the store.
func (s *server) run(ctx context.Context) error {
	s.log.Info("gofailover listening", "addr", s.listener.Addr().String(), "cache", s.cfg.CacheDir, "version", buildVersion())
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.http.Serve(s.listener) }()
	bgCtx, stopBackground := context.WithCancel(context.Background())
	if s.shared != nil {
		// Its uploads outlive the background loops: they drain below.
		s.shared.Start(context.Background())
	}
	var background sync.WaitGroup
	s.runBackground(bgCtx, &background)

	var err error
	var shutdownBy time.Time
	select {
	case err = <-serveErr:
		err = fmt.Errorf("serving on %s: %w", s.listener.Addr(), err)
		shutdownBy = time.Now().Add(s.cfg.ShutdownTimeout)
	case <-ctx.Done():
		s.log.Info("shutting down: draining in-flight requests", "timeout", s.cfg.ShutdownTimeout)
		shutdownBy = time.Now().Add(s.cfg.ShutdownTimeout)
		drainCtx, cancel := context.WithDeadline(context.Background(), shutdownBy)
		if derr := s.http.Shutdown(drainCtx); derr != nil {
			s.log.Warn("drain incomplete; closing remaining connections", "err", derr)
			s.http.Close()
		}
		cancel()
		<-serveErr
	}
	// The history saves itself as it stops: before the store closes.
	stopBackground()
	background.Wait()
	s.cancelFetch()
	s.handler.Wait()
	if s.shared != nil {
		// Uploads read from the store: they drain, within what is left
		// of the shutdown timeout, before it closes.
		drainCtx, cancel := context.WithDeadline(context.Background(), shutdownBy)
		s.shared.Close(drainCtx)
		cancel()
	}
	if cerr := s.store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing the cache: %w", cerr)
	}
	s.log.Info("stopped")
	return err
}
