package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/gofailover/gofailover/cache/shared"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/health/alert"
	"github.com/gofailover/gofailover/proxy/checksum"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// envPrefix starts every configuration variable's name.
const envPrefix = "GOFAILOVER_"

// Config is gofailover's configuration. Every field is an environment
// variable (envPrefix + the env tag) and a command-line flag (the tag in
// lower case with dashes); the flag wins.
type Config struct {
	Listen                 string          `env:"LISTEN" envDefault:"127.0.0.1:3131" usage:"address the proxy listens on"`
	Upstreams              []string        `env:"UPSTREAMS" usage:"comma-separated upstream proxy URLs, in preference order (default: the go command's GOPROXY list without direct, off and this server)"`
	CacheDir               string          `env:"CACHE_DIR" usage:"cache directory (default: gofailover under the user cache directory)"`
	CacheMaxSize           byteSize        `env:"CACHE_MAX_SIZE" envDefault:"0" usage:"most bytes of answers the cache keeps, such as 20GiB; past it the least recently used are evicted (0: no bound)"`
	CacheReserve           reserveSize     `env:"CACHE_RESERVE" usage:"free space the cache leaves on its disk, as a size such as 2GiB or a share such as 5%; below it the cache is read-only: new answers are served without being stored, and zips get 503 (default: 1GiB, or 10% of a smaller file system; never below 64MiB)"`
	ScrubRate              byteSize        `env:"SCRUB_RATE" envDefault:"8MiB" usage:"bytes per second the background scrub reads to re-hash every cached file, a pass every scrub interval; a file that does not hash to its name is removed, never served, and fetched again (0: no scrub)"`
	ScrubInterval          time.Duration   `env:"SCRUB_INTERVAL" envDefault:"24h" usage:"how often the scrub starts a pass over every cached file"`
	CacheKeepStale         time.Duration   `env:"CACHE_KEEP_STALE" envDefault:"168h" usage:"age past which an answer that can change (@v/list, @latest, a remembered \"not found\", ...), kept to serve when every upstream fails, is deleted (0: kept until evicted)"`
	SumDB                  string          `env:"SUMDB" usage:"checksum database every public .mod and .zip is verified against, as in GOSUMDB: name, name+key, \"name+key url\" or off (default: the go command's GOSUMDB)"`
	Private                string          `env:"PRIVATE" usage:"comma-separated module path patterns (GOPRIVATE syntax) never verified nor sent to public upstreams (default: the go command's GOPRIVATE and GONOSUMDB)"`
	PrivateUpstreams       []string        `env:"PRIVATE_UPSTREAMS" usage:"comma-separated upstream proxy URLs for private modules, in preference order (default: none; private modules get 404)"`
	SharedStore            string          `env:"SHARED_STORE" usage:"object store shared by a fleet of replicas, a second tier under the local cache: s3://BUCKET[/PREFIX]?endpoint=URL&region=REGION (endpoint optional for AWS; path-style addressing with an endpoint unless use_path_style=false); credentials come from the AWS chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the shared config and credentials files, instance roles (default: none)"`
	SharedPrivate          onOff           `env:"SHARED_PRIVATE" envDefault:"off" usage:"on: private modules go to the shared store too, under their own prefix (they may be secret)"`
	SharedTimeout          time.Duration   `env:"SHARED_TIMEOUT" envDefault:"2s" usage:"how long a call to the shared store may wait for its answer to start, and a body for its next byte five times as long; past it the replica goes on without the store"`
	SharedRedirectSize     byteSize        `env:"SHARED_REDIRECT_SIZE" envDefault:"0" usage:"zips at least this large are answered, once the shared store's copy is known to be verified, with a redirect to a presigned URL of it, so that their bytes flow from the store (0: off)"`
	Prefetch               prefetchSetting `env:"PREFETCH" envDefault:"mod,zip" usage:"what is fetched ahead of the go command, which walks the module graph in waves: off, or a list of mod (the .mod of a version whose .info is asked for, and the requirements' .mod files of every .mod fetched, 3 levels deep) and zip (the .zip of a version whose .info is asked for, and once the .zip of a module is asked for, the .info, .mod and .zip of its requirements); prefetches use only request slots users can spare, and stop when users go quiet"`
	MutableTTL             time.Duration   `env:"MUTABLE_TTL" envDefault:"1m" usage:"how long @v/list, @latest, version queries and /sumdb/*/latest stay fresh"`
	ConnectTimeout         time.Duration   `env:"CONNECT_TIMEOUT" envDefault:"5s" usage:"timeout for connecting to an upstream (TCP and TLS)"`
	FirstByteTimeout       time.Duration   `env:"FIRST_BYTE_TIMEOUT" envDefault:"30s" usage:"timeout for an upstream's response header"`
	IdleTimeout            time.Duration   `env:"IDLE_TIMEOUT" envDefault:"30s" usage:"abort an upstream body that makes no progress for this long"`
	MinBodyRate            byteSize        `env:"MIN_BODY_RATE" envDefault:"32KiB" usage:"slow-body floor: an upstream body that averages fewer bytes per second than this, once 2s have passed since its header, is abandoned and the next upstream tried (0: no floor)"`
	UpstreamMaxConcurrency int             `env:"UPSTREAM_MAX_CONCURRENCY" envDefault:"32" usage:"requests in flight to one upstream at most; a fetch that finds none free within 5s moves on to the next upstream, and at the last one waits its turn up to the first-byte timeout"`
	HedgeFloor             time.Duration   `env:"HEDGE_FLOOR" envDefault:"100ms" usage:"shortest wait for an upstream's response header before the request also goes to the next upstream (the wait is the upstream's recent p95)"`
	HedgeCeiling           time.Duration   `env:"HEDGE_CEILING" envDefault:"2s" usage:"longest such wait, and the wait for an upstream with no recent latency"`
	HedgeBudget            float64         `env:"HEDGE_BUDGET" envDefault:"0.1" usage:"hedged requests at most, as a share of the other upstream requests over a minute; 0 turns hedging off"`
	HedgeBurst             int             `env:"HEDGE_BURST" envDefault:"16" usage:"hedged requests per minute allowed beyond the budget, so that the first requests after a start or a quiet spell can hedge around a mirror that stopped answering; 0 means none"`
	ProbeInterval          time.Duration   `env:"PROBE_INTERVAL" envDefault:"15s" usage:"how often each upstream is probed in the background (with 10% jitter); 0 turns probing off"`
	ProbeTimeout           time.Duration   `env:"PROBE_TIMEOUT" envDefault:"10s" usage:"timeout of one probe request"`
	ProbeModule            string          `env:"PROBE_MODULE" envDefault:"golang.org/x/mod@v0.1.0" usage:"module@version whose @v/list and .info the probes ask for (off: only the checksum database's /supported)"`
	PrivateProbeModule     string          `env:"PRIVATE_PROBE_MODULE" usage:"module@version whose @v/list and .info the probes ask the private upstreams for (default: none; private upstreams are then judged by users' requests alone)"`
	HealthWindow           time.Duration   `env:"HEALTH_WINDOW" envDefault:"5m" usage:"how long an upstream's results count in its latency percentiles and error rate"`
	LatencyHalfLife        time.Duration   `env:"LATENCY_HALF_LIFE" usage:"an upstream's latency average forgets with time as well as with samples: a result weighs at least 1-2^(-gap/this), so a mirror only probes reach is judged by its latest answers (default: a fifth of the probe interval, 3s when probing is off)"`
	FailureCost            time.Duration   `env:"FAILURE_COST" envDefault:"1s" usage:"what a failed request is taken to cost when ranking upstreams: score = latency average + error rate x this"`
	StalePenalty           time.Duration   `env:"STALE_PENALTY" envDefault:"1s" usage:"added to the score of an upstream whose list of the probe module lacks versions another upstream lists"`
	RoutingHysteresis      float64         `env:"ROUTING_HYSTERESIS" envDefault:"0.1" usage:"another upstream takes the lead only if it beats the leader's score improved by this share (and 5ms), so similar mirrors do not flap"`
	BreakerFailures        int             `env:"BREAKER_FAILURES" envDefault:"5" usage:"consecutive failures that open an upstream's circuit breaker"`
	BreakerErrorRate       float64         `env:"BREAKER_ERROR_RATE" envDefault:"0.5" usage:"error rate over the health window that opens the breaker (0 to 1)"`
	BreakerMinSamples      int             `env:"BREAKER_MIN_SAMPLES" envDefault:"20" usage:"fewest results in the window for the error rate to open the breaker"`
	BreakerBackoff         time.Duration   `env:"BREAKER_BACKOFF" envDefault:"5s" usage:"how long an opened breaker waits before trial requests; doubles while the upstream stays bad"`
	BreakerMaxBackoff      time.Duration   `env:"BREAKER_MAX_BACKOFF" envDefault:"5m" usage:"the longest breaker backoff"`
	BreakerTrials          int             `env:"BREAKER_TRIALS" envDefault:"3" usage:"successful trial requests that close a half-open breaker"`
	Quarantine             time.Duration   `env:"QUARANTINE" envDefault:"30m" usage:"how long an upstream caught serving content that fails checksum verification is kept out"`
	AlertWebhook           string          `env:"ALERT_WEBHOOK" usage:"URL that alert firings and resolutions are POSTed to as JSON (default: none; they are logged either way)"`
	AlertmanagerURL        []string        `env:"ALERTMANAGER_URL" usage:"comma-separated Prometheus Alertmanager URLs that firing alerts are sent to (API v2), again every minute while they fire, and resolutions (default: none)"`
	AlertFor               time.Duration   `env:"ALERT_FOR" envDefault:"1m" usage:"how long an alert's condition must hold before it fires"`
	AlertLatencyFloor      time.Duration   `env:"ALERT_LATENCY_FLOOR" envDefault:"500ms" usage:"latency below which the latency alert never fires, whatever the upstream's baseline"`
	AlertLatencyK          float64         `env:"ALERT_LATENCY_K" envDefault:"3" usage:"the latency alert fires above mean + this many standard deviations of the upstream's latency over the last hour"`
	AlertErrorRate         float64         `env:"ALERT_ERROR_RATE" envDefault:"0.2" usage:"error rate over the health window above which the error-rate alert fires (0 to 1)"`
	MaxConnections         int             `env:"MAX_CONNECTIONS" envDefault:"0" usage:"most client connections open at once; past it the connection idle the longest is closed for the new one, or the new one when none is idle (0: three quarters of the open-file limit less 64, at most 16384)"`
	ClientReadTimeout      time.Duration   `env:"CLIENT_READ_TIMEOUT" envDefault:"10s" usage:"how long a client may take to send a request's header, and then its body (thrown away; 64 KiB at most); past it the connection is closed"`
	ClientWriteTimeout     time.Duration   `env:"CLIENT_WRITE_TIMEOUT" envDefault:"30s" usage:"how long a client may take to receive each 256 KiB of an answer; past it the connection is closed (0: no limit)"`
	ClientIdleTimeout      time.Duration   `env:"CLIENT_IDLE_TIMEOUT" envDefault:"2m" usage:"how long a client connection may stay open between requests"`
	ShutdownTimeout        time.Duration   `env:"SHUTDOWN_TIMEOUT" envDefault:"30s" usage:"how long SIGINT/SIGTERM waits for in-flight requests"`
	LogLevel               slog.Level      `env:"LOG_LEVEL" envDefault:"info" usage:"log level: debug, info, warn or error"`
	BadgerLogLevel         slog.Level      `env:"BADGER_LOG_LEVEL" envDefault:"warn" usage:"least level of the cache index's (Badger's) own log lines that are logged: debug, info, warn or error (its routine lines are debug)"`
	LogFormat              string          `env:"LOG_FORMAT" envDefault:"text" usage:"log format: text or json"`

	// sumDB is SumDB resolved and parsed by validate; nil means off.
	sumDB *checksum.Database
	// droppedUpstreams are the entries of GOFAILOVER_UPSTREAMS that name no
	// mirror, dropped by validate: direct, off, and this server.
	droppedUpstreams []string
	// sharedStore is SharedStore parsed by validate; nil means none.
	sharedStore *shared.Location
	// passThroughSumDB is, when sumDB is nil, the name of the go command's
	// own checksum database, whose /sumdb/ paths are passed through
	// unverified.
	passThroughSumDB string
}

// setting describes one configuration field for flags and help.
type setting struct {
	field  string // Go field name
	envVar string // full environment variable name
	flag   string // flag name, without dashes
	def    string // default value as text
	usage  string
}

// settings lists the configuration fields in declaration order.
func settings() []setting {
	t := reflect.TypeFor[Config]()
	out := make([]setting, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		key := f.Tag.Get("env")
		if key == "" {
			continue // derived state, not a setting
		}
		out = append(out, setting{
			field:  f.Name,
			envVar: envPrefix + key,
			flag:   strings.ReplaceAll(strings.ToLower(key), "_", "-"),
			def:    f.Tag.Get("envDefault"),
			usage:  f.Tag.Get("usage"),
		})
	}
	return out
}

// configError is a bad setting: start-up stops with its one-line message
// and exit status 2.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// loadConfig reads the configuration from the environment and the flags in
// args (the flag wins). environ is the process environment as KEY=VALUE.
func loadConfig(fs *flag.FlagSet, args []string, environ []string) (*Config, error) {
	all := settings()
	flagValues := make(map[string]*string, len(all))
	for _, s := range all {
		flagValues[s.flag] = fs.String(s.flag, "", s.usage)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, configErrorf("unexpected argument %q", fs.Arg(0))
	}

	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	source := make(map[string]string, len(all)) // field -> where its value came from
	for _, s := range all {
		if _, ok := vars[s.envVar]; ok {
			source[s.field] = s.envVar
		}
	}
	fs.Visit(func(f *flag.Flag) {
		for _, s := range all {
			if s.flag == f.Name {
				vars[s.envVar] = *flagValues[s.flag]
				source[s.field] = "--" + s.flag
			}
		}
	})

	var cfg Config
	err := env.ParseWithOptions(&cfg, env.Options{Environment: vars, Prefix: envPrefix})
	if err != nil {
		return nil, describeParseError(err, source, vars)
	}
	return &cfg, nil
}

// describeParseError turns a caarlos0/env error into one line naming the
// variable or flag that held the bad value; vars holds the values by
// variable name.
func describeParseError(err error, source, vars map[string]string) error {
	var pe env.ParseError
	if errors.As(err, &pe) {
		name := source[pe.Name]
		cause := pe.Err
		for u := errors.Unwrap(cause); u != nil; u = errors.Unwrap(cause) {
			cause = u
		}
		if pe.Type == reflect.TypeFor[slog.Level]() {
			var value string
			for _, s := range settings() {
				if s.field == pe.Name {
					value = vars[s.envVar]
				}
			}
			return configErrorf("%s: %q is not a log level: must be debug, info, warn or error", name, value)
		}
		return configErrorf("%s: invalid value: %v", name, cause)
	}
	return configErrorf("configuration: %v", err)
}

// validate checks the values that parsing alone cannot, and fills in the
// defaults that depend on the machine: the cache directory and the
// upstream list. goEnv reads one of the go command's settings.
func (c *Config) validate(goEnv goEnvFunc) error {
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		return configErrorf("%sLISTEN: %q is not a host:port address", envPrefix, c.Listen)
	}
	for _, err := range []error{
		positive("MUTABLE_TTL", c.MutableTTL),
		positive("SCRUB_INTERVAL", c.ScrubInterval),
		positive("CONNECT_TIMEOUT", c.ConnectTimeout),
		positive("FIRST_BYTE_TIMEOUT", c.FirstByteTimeout),
		positive("IDLE_TIMEOUT", c.IdleTimeout),
		positive("SHUTDOWN_TIMEOUT", c.ShutdownTimeout),
		positive("CLIENT_READ_TIMEOUT", c.ClientReadTimeout),
		positive("CLIENT_IDLE_TIMEOUT", c.ClientIdleTimeout),
		notNegative("CLIENT_WRITE_TIMEOUT", c.ClientWriteTimeout),
		notNegative("MAX_CONNECTIONS", c.MaxConnections),
		positive("HEALTH_WINDOW", c.HealthWindow),
		positive("BREAKER_BACKOFF", c.BreakerBackoff),
		positive("BREAKER_MAX_BACKOFF", c.BreakerMaxBackoff),
		positive("QUARANTINE", c.Quarantine),
		positive("HEDGE_FLOOR", c.HedgeFloor),
		positive("HEDGE_CEILING", c.HedgeCeiling),
		positive("PROBE_TIMEOUT", c.ProbeTimeout),
		positive("SHARED_TIMEOUT", c.SharedTimeout),
		positive("UPSTREAM_MAX_CONCURRENCY", c.UpstreamMaxConcurrency),
		positive("BREAKER_FAILURES", c.BreakerFailures),
		positive("BREAKER_MIN_SAMPLES", c.BreakerMinSamples),
		positive("BREAKER_TRIALS", c.BreakerTrials),
		positive("FAILURE_COST", c.FailureCost),
		positive("STALE_PENALTY", c.StalePenalty),
		positive("ROUTING_HYSTERESIS", c.RoutingHysteresis),
		positive("ALERT_FOR", c.AlertFor),
		positive("ALERT_LATENCY_FLOOR", c.AlertLatencyFloor),
		positive("ALERT_LATENCY_K", c.AlertLatencyK),
	} {
		if err != nil {
			return err
		}
	}
	if c.ProbeInterval != 0 && c.ProbeInterval < minProbeInterval {
		return configErrorf("%sPROBE_INTERVAL: must be at least %v (or 0: no probes), got %v", envPrefix, minProbeInterval, c.ProbeInterval)
	}
	for _, b := range durationBounds {
		if v := b.value(c); v < b.least {
			return configErrorf("%s%s: must be at least %v, got %v", envPrefix, b.name, b.least, v)
		}
	}
	if c.CacheKeepStale < 0 {
		return configErrorf("%sCACHE_KEEP_STALE: must not be negative, got %v", envPrefix, c.CacheKeepStale)
	}
	switch {
	case c.LatencyHalfLife < 0:
		return configErrorf("%sLATENCY_HALF_LIFE: must be a positive duration, got %v", envPrefix, c.LatencyHalfLife)
	case c.LatencyHalfLife == 0 && c.ProbeInterval > 0:
		// Probes are all that reach a mirror traffic has left: one
		// probe round must be able to outweigh what made it leave.
		c.LatencyHalfLife = c.ProbeInterval / 5
	case c.LatencyHalfLife == 0:
		c.LatencyHalfLife = health.DefaultConfig().EWMAHalfLife
	}
	if err := c.probeConfig(nil).Validate(); err != nil {
		return configErrorf("%sPROBE_MODULE: %v", envPrefix, err)
	}
	if err := c.privateProbeConfig(nil).Validate(); err != nil {
		return configErrorf("%sPRIVATE_PROBE_MODULE: %v", envPrefix, err)
	}
	if c.HedgeBurst < 0 {
		return configErrorf("%sHEDGE_BURST: must not be negative, got %d", envPrefix, c.HedgeBurst)
	}
	if c.HedgeBudget < 0 || c.HedgeBudget > 1 {
		return configErrorf("%sHEDGE_BUDGET: must be from 0 to 1, got %v", envPrefix, c.HedgeBudget)
	}
	if c.HedgeCeiling < c.HedgeFloor {
		return configErrorf("%sHEDGE_CEILING: %v is shorter than %sHEDGE_FLOOR (%v)", envPrefix, c.HedgeCeiling, envPrefix, c.HedgeFloor)
	}
	if c.AlertErrorRate <= 0 || c.AlertErrorRate > 1 {
		return configErrorf("%sALERT_ERROR_RATE: must be above 0 and at most 1, got %v", envPrefix, c.AlertErrorRate)
	}
	if c.AlertWebhook != "" {
		if err := checkHTTPURL(c.AlertWebhook); err != nil {
			return configErrorf("%sALERT_WEBHOOK: %v", envPrefix, err)
		}
	}
	for _, u := range c.AlertmanagerURL {
		if err := checkHTTPURL(u); err != nil {
			return configErrorf("%sALERTMANAGER_URL: %v", envPrefix, err)
		}
	}
	if c.BreakerErrorRate <= 0 || c.BreakerErrorRate > 1 {
		return configErrorf("%sBREAKER_ERROR_RATE: must be above 0 and at most 1, got %v", envPrefix, c.BreakerErrorRate)
	}
	if c.BreakerMaxBackoff < c.BreakerBackoff {
		return configErrorf("%sBREAKER_MAX_BACKOFF: %v is shorter than %sBREAKER_BACKOFF (%v)", envPrefix, c.BreakerMaxBackoff, envPrefix, c.BreakerBackoff)
	}
	if c.SharedStore != "" {
		loc, err := shared.ParseURL(c.SharedStore)
		if err != nil {
			return configErrorf("%sSHARED_STORE: %v", envPrefix, err)
		}
		c.sharedStore = &loc
	}
	if c.SharedRedirectSize > 0 && c.sharedStore == nil {
		return configErrorf("%sSHARED_REDIRECT_SIZE: set, but %sSHARED_STORE is not", envPrefix, envPrefix)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return configErrorf("%sLOG_FORMAT: must be text or json, got %q", envPrefix, c.LogFormat)
	}
	if err := c.resolveUpstreams(goEnv); err != nil {
		return err
	}
	if err := c.resolveSumDB(goEnv); err != nil {
		return err
	}
	if err := c.resolvePrivate(goEnv); err != nil {
		return err
	}
	return c.resolveCacheDir()
}

// scrubRate is GOFAILOVER_SCRUB_RATE as cache.Options.ScrubRate takes
// it: there zero means the default, and a negative rate no scrub.
func (c *Config) scrubRate() int64 {
	if c.ScrubRate == 0 {
		return -1
	}
	return int64(c.ScrubRate)
}

// positive checks that the setting name (without the prefix) is above zero.
func positive[T time.Duration | int | float64](name string, v T) error {
	if v > 0 {
		return nil
	}
	if d, ok := any(v).(time.Duration); ok {
		return configErrorf("%s%s: must be a positive duration, got %v", envPrefix, name, d)
	}
	return configErrorf("%s%s: must be a positive number, got %v", envPrefix, name, v)
}

// minProbeInterval is the shortest GOFAILOVER_PROBE_INTERVAL but 0 (off):
// probes ask each mirror for up to five files a round.
const minProbeInterval = time.Second

// durationBounds are the shortest values of the settings whose smaller
// values would flood the mirrors or the cache with work, or make no
// sense; validate checks them after positive has.
var durationBounds = []struct {
	name  string // without the prefix
	least time.Duration
	value func(*Config) time.Duration
}{
	{"PROBE_TIMEOUT", 10 * time.Millisecond, func(c *Config) time.Duration { return c.ProbeTimeout }},
	{"HEALTH_WINDOW", time.Second, func(c *Config) time.Duration { return c.HealthWindow }},
	{"HEDGE_FLOOR", time.Millisecond, func(c *Config) time.Duration { return c.HedgeFloor }},
	{"BREAKER_BACKOFF", 100 * time.Millisecond, func(c *Config) time.Duration { return c.BreakerBackoff }},
	{"ALERT_FOR", time.Second, func(c *Config) time.Duration { return c.AlertFor }},
	{"SCRUB_INTERVAL", time.Minute, func(c *Config) time.Duration { return c.ScrubInterval }},
}

// checkHTTPURL checks that raw is an absolute http or https URL, for the
// settings that name one that is not an upstream.
func checkHTTPURL(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL: %w", raw, errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: scheme must be http or https", raw)
	case u.Host == "":
		return fmt.Errorf("%q: no host", raw)
	}
	return nil
}

// notNegative checks that the setting name (without the prefix) is zero or
// above.
func notNegative[T time.Duration | int](name string, v T) error {
	if v >= 0 {
		return nil
	}
	return configErrorf("%s%s: must not be negative, got %v", envPrefix, name, v)
}

// resolveSumDB parses GOFAILOVER_SUMDB, or the go command's GOSUMDB when
// unset, with the keys the go command knows.
func (c *Config) resolveSumDB(goEnv goEnvFunc) error {
	value := c.SumDB
	if value == "" {
		v, err := defaultSumDB(goEnv)
		if err != nil {
			return configErrorf("%sSUMDB is not set and %v; set it to name+key, or off", envPrefix, err)
		}
		value = v
	}
	known := func(name string) (string, bool) {
		key, ok := knownSumDBKeys(goEnv)[name]
		return key, ok
	}
	db, err := checksum.ParseDatabase(value, known)
	if err != nil && c.SumDB == "" {
		return configErrorf("%sSUMDB is not set and the go command's GOSUMDB is unusable: %v; set it to name+key, or off", envPrefix, err)
	}
	if err != nil {
		return configErrorf("%sSUMDB: %v", envPrefix, err)
	}
	c.sumDB = db
	if db == nil {
		// Verification is off here, but the go command still checks
		// through its own GOSUMDB: pass that database's paths through.
		if v, err := defaultSumDB(goEnv); err == nil {
			if own, err := checksum.ParseDatabase(v, known); err == nil && own != nil {
				c.passThroughSumDB = own.Name
			}
		}
	}
	return nil
}

// resolvePrivate defaults GOFAILOVER_PRIVATE to the go command's private
// patterns and checks the private upstreams.
func (c *Config) resolvePrivate(goEnv goEnvFunc) error {
	if c.Private == "" {
		var patterns []string
		for _, key := range []string{"GOPRIVATE", "GONOSUMDB"} {
			if v, err := goEnv(key, false); err == nil && v != "" {
				patterns = append(patterns, v)
			}
		}
		c.Private = strings.Join(patterns, ",")
	}
	if _, err := health.NewUpstreams(c.PrivateUpstreams, health.Limits{}); err != nil {
		return configErrorf("%sPRIVATE_UPSTREAMS: %v", envPrefix, err)
	}
	for _, p := range c.PrivateUpstreams {
		for _, q := range c.Upstreams {
			if strings.TrimSuffix(strings.TrimSpace(p), "/") == strings.TrimSuffix(strings.TrimSpace(q), "/") {
				return configErrorf("%sPRIVATE_UPSTREAMS: %s is also a public upstream (%sUPSTREAMS): private modules must not reach it", envPrefix, p, envPrefix)
			}
		}
	}
	return nil
}

// resolveUpstreams checks GOFAILOVER_UPSTREAMS, or derives it from the go
// command's GOPROXY when unset.
func (c *Config) resolveUpstreams(goEnv goEnvFunc) error {
	if len(c.Upstreams) > 0 {
		c.Upstreams, c.droppedUpstreams = filterUpstreams(c.Upstreams, c.Listen)
		if len(c.Upstreams) == 0 {
			return configErrorf("%sUPSTREAMS names no mirror, only %s; set it to your mirrors' URLs, comma-separated",
				envPrefix, strings.Join(c.droppedUpstreams, ", "))
		}
	}
	if len(c.Upstreams) == 0 {
		list, err := defaultUpstreams(c.Listen, goEnv)
		if err != nil {
			return configErrorf("%sUPSTREAMS is not set and %v; set it to your mirrors' URLs, comma-separated", envPrefix, err)
		}
		c.Upstreams = list
	}
	if _, err := health.NewUpstreams(c.Upstreams, health.Limits{}); err != nil {
		return configErrorf("%sUPSTREAMS: %v", envPrefix, err)
	}
	return nil
}

// resolveCacheDir picks the default cache directory and checks that the
// directory can be written.
func (c *Config) resolveCacheDir() error {
	if c.CacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return configErrorf("%sCACHE_DIR is not set and there is no user cache directory: %v", envPrefix, err)
		}
		c.CacheDir = filepath.Join(base, "gofailover")
	}
	dir, err := filepath.Abs(c.CacheDir)
	if err != nil {
		return configErrorf("%sCACHE_DIR: %v", envPrefix, err)
	}
	c.CacheDir = dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return configErrorf("%sCACHE_DIR: cannot create %s: %v", envPrefix, dir, errors.Unwrap(err))
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return configErrorf("%sCACHE_DIR: %s is not writable: %v", envPrefix, dir, errors.Unwrap(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// healthConfig returns the upstream health thresholds: the settings here,
// the rest health's defaults.
func (c *Config) healthConfig() health.Config {
	hc := health.DefaultConfig()
	hc.Window = c.HealthWindow
	hc.EWMAHalfLife = c.LatencyHalfLife
	hc.FailureCost = c.FailureCost
	hc.StalePenalty = c.StalePenalty
	hc.HysteresisRatio = c.RoutingHysteresis
	hc.FailureThreshold = c.BreakerFailures
	hc.ErrorRateThreshold = c.BreakerErrorRate
	hc.MinSamples = c.BreakerMinSamples
	hc.OpenBackoff = c.BreakerBackoff
	hc.MaxOpenBackoff = c.BreakerMaxBackoff
	hc.HalfOpenSuccesses = c.BreakerTrials
	hc.Quarantine = c.Quarantine
	return hc
}

// alertConfig returns the alert rules' configuration.
func (c *Config) alertConfig() alert.Config {
	ac := alert.DefaultConfig()
	ac.For = c.AlertFor
	ac.LatencyFloor = c.AlertLatencyFloor
	ac.LatencyK = c.AlertLatencyK
	ac.ErrorRate = c.AlertErrorRate
	// Evaluate often enough that an alert fires close to its 'for'.
	ac.Interval = min(ac.Interval, max(time.Second, c.AlertFor/4))
	return ac
}

// clientConfig returns the upstream client's configuration: the one way
// every request to a mirror is made, by the server and the probe command.
func (c *Config) clientConfig() upstream.Config {
	rate := int64(c.MinBodyRate)
	if rate == 0 {
		rate = -1 // off
	}
	return upstream.Config{
		ConnectTimeout:   c.ConnectTimeout,
		FirstByteTimeout: c.FirstByteTimeout,
		IdleTimeout:      c.IdleTimeout,
		MinBodyRate:      rate,
	}
}

// limits returns what may be asked of each upstream at once.
func (c *Config) limits() health.Limits {
	return health.Limits{MaxInFlight: c.UpstreamMaxConcurrency}
}

// probeConfig returns the background probes' configuration.
func (c *Config) probeConfig(log *slog.Logger) health.ProbeConfig {
	pc := c.moduleProbeConfig(c.ProbeModule, log)
	if c.sumDB != nil {
		pc.SumDB = c.sumDB.Name
	}
	return pc
}

// privateProbeConfig returns the private upstreams' probes' configuration:
// the private probe module, and no checksum database (private modules are
// not in it).
func (c *Config) privateProbeConfig(log *slog.Logger) health.ProbeConfig {
	return c.moduleProbeConfig(c.PrivateProbeModule, log)
}

// moduleProbeConfig returns a probe configuration asking for module (as
// module@version; "" or "off" for none).
func (c *Config) moduleProbeConfig(module string, log *slog.Logger) health.ProbeConfig {
	mod, version, _ := strings.Cut(module, "@")
	if module == "off" {
		mod, version = "", ""
	}
	return health.ProbeConfig{
		Interval: c.ProbeInterval,
		Timeout:  c.ProbeTimeout,
		Module:   mod,
		Version:  version,
		Logger:   log,
	}
}

// hedgeBudget is the proxy's HedgeBudget: the setting, with 0 meaning off.
func (c *Config) hedgeBudget() float64 {
	if c.HedgeBudget == 0 {
		return -1
	}
	return c.HedgeBudget
}

// hedgeBurst is the proxy's HedgeBurst: the setting, with 0 meaning none.
func (c *Config) hedgeBurst() int {
	if c.HedgeBurst == 0 {
		return -1
	}
	return c.HedgeBurst
}

// printSettings writes the table of settings for --help.
func printSettings(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tFLAG\tDEFAULT\tMEANING")
	for _, s := range settings() {
		def := s.def
		if def == "" {
			def = "-"
		}
		fmt.Fprintf(tw, "  %s\t--%s\t%s\t%s\n", s.envVar, s.flag, def, s.usage)
	}
	tw.Flush()
}
