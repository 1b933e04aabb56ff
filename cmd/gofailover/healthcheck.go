package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheck asks the server at the configured listen address for
// /healthz and returns the exit status: 0 when it answers 200. It serves
// container HEALTHCHECKs in images that have no HTTP client.
func healthcheck(ctx context.Context, cfg *Config, stderr io.Writer) int {
	base, err := serverURL(cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "gofailover: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	url := base + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "gofailover: healthcheck: %v\n", err)
		return exitFailed
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "gofailover: healthcheck: %v\n", err)
		return exitFailed
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "gofailover: healthcheck: %s answered %s\n", url, resp.Status)
		return exitFailed
	}
	return exitOK
}

// serverURL is the base URL, without a trailing slash, of the gofailover
// server listening on listen (host:port): an empty or unspecified host
// (0.0.0.0, ::) is reached on 127.0.0.1. The commands that talk to a
// running server share it.
func serverURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", configErrorf("%sLISTEN: %q is not a host:port address", envPrefix, listen)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
