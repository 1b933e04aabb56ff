package main

import (
	"errors"
	"log/slog"
	"net"

	"github.com/gofailover/gofailover/proxy/clientlimit"
)

// listenClients binds the listen address, raises the open-file limit and
// wraps the listener in the client limits: the connection cap (by default
// derived from the open-file limit) and the write and body timeouts.
func listenClients(cfg *Config, log *slog.Logger) (*clientlimit.Listener, error) {
	inner, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, configErrorf("%sLISTEN: cannot listen on %s: %v", envPrefix, cfg.Listen, errors.Unwrap(err))
	}
	fl, err := clientlimit.RaiseFileLimit()
	if err != nil && !errors.Is(err, errors.ErrUnsupported) {
		log.Warn("cannot raise the open-file limit", "err", err)
	}
	maxConns := cfg.MaxConnections
	if maxConns == 0 {
		maxConns = clientlimit.DefaultMaxConns(fl.Soft)
	}
	log.Info("client limits", "max_connections", maxConns,
		"open_files_soft", fl.Soft, "open_files_hard", fl.Hard, "open_files_soft_before", fl.Before,
		"read_timeout", cfg.ClientReadTimeout, "write_timeout", cfg.ClientWriteTimeout, "idle_timeout", cfg.ClientIdleTimeout)
	return clientlimit.NewListener(inner, clientlimit.Config{
		MaxConns:     maxConns,
		WriteTimeout: cfg.ClientWriteTimeout,
		BodyTimeout:  cfg.ClientReadTimeout,
		Logger:       log.With("component", "clients"),
	}), nil
}
