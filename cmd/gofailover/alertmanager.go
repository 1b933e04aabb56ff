package main

import (
	"log/slog"
	"net"
	"os"

	"github.com/gofailover/gofailover/health/alert"
)

// newAlertmanager returns the notifier that sends alerts to the
// Alertmanagers of GOFAILOVER_ALERTMANAGER_URL, or nil when none is set.
func newAlertmanager(cfg *Config, log *slog.Logger) (*alert.Alertmanager, error) {
	if len(cfg.AlertmanagerURL) == 0 {
		return nil, nil
	}
	instance := alertInstance(cfg.Listen)
	am, err := alert.NewAlertmanager(alert.AlertmanagerConfig{
		URLs:         cfg.AlertmanagerURL,
		Instance:     instance,
		GeneratorURL: "http://" + instance + "/",
		Logger:       log.With("component", "alertmanager"),
	})
	if err != nil {
		return nil, configErrorf("%sALERTMANAGER_URL: %v", envPrefix, err)
	}
	return am, nil
}

// alertInstance is the instance label of the alerts sent to Alertmanager:
// the listen address, with this host's name in place of an unspecified
// host (":3131", "0.0.0.0:3131", "[::]:3131").
func alertInstance(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if name, err := os.Hostname(); err == nil && name != "" {
			host = name
		}
	}
	return net.JoinHostPort(host, port)
}

// notifiers combines the alert notifiers configured, any of them nil, into
// the Engine's one; nil when there is none.
func notifiers(webhook *alert.Webhook, am *alert.Alertmanager) alert.Notifier {
	var ns alert.Notifiers
	if webhook != nil {
		ns = append(ns, webhook)
	}
	if am != nil {
		ns = append(ns, am)
	}
	switch len(ns) {
	case 0:
		return nil
	case 1:
		return ns[0]
	}
	return ns
}
