package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/gofailover/gofailover/proxy/statuspage"
)

// statusTimeout bounds one status command's request to the server.
const statusTimeout = 10 * time.Second

// statusOptions are the status command's own flags, which are not server
// settings.
type statusOptions struct {
	// raw prints the server's JSON as it came instead of the table.
	raw bool
	// url is the base URL of the server to ask; empty means the one at
	// the listen address.
	url string
}

// addStatusFlags defines the status command's own flags on fs. Call it
// before loadConfig, which adds the settings and parses.
func addStatusFlags(fs *flag.FlagSet) *statusOptions {
	o := &statusOptions{}
	fs.BoolVar(&o.raw, "json", false, "status: print the server's status.json as it is")
	fs.StringVar(&o.url, "url", "", "status: base URL of the server to ask (default: the one at the listen address)")
	return o
}

// Exit statuses of the status command, once it has read the status.
const (
	exitStatusHealthy  = exitOK     // every upstream is healthy
	exitStatusDegraded = exitFailed // an upstream is not healthy, or the shared store is down
	exitStatusP0       = 2          // a P0 alert is firing
)

// statusExit is the exit status that rep calls for: exitStatusP0 while a
// P0 alert fires, else exitStatusDegraded when an upstream is anything but
// healthy (degraded, open, half-open, quarantined) or the shared store is
// down (open, half-open, quarantined: the replica goes on alone), else
// exitStatusHealthy. A shared store that is merely degraded still serves,
// and changes nothing.
func statusExit(rep statuspage.Report) int {
	for _, a := range rep.Alerts {
		if a.Severity == "P0" && a.State == "firing" {
			return exitStatusP0
		}
	}
	for _, u := range rep.Upstreams {
		if u.State != "healthy" {
			return exitStatusDegraded
		}
	}
	if s := rep.SharedStore; s != nil && (s.State == "open" || s.State == "half-open" || s.State == "quarantined") {
		return exitStatusDegraded
	}
	return exitStatusHealthy
}

// statusDoer sends the status command's request; *http.Client is one.
type statusDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// status reads /status.json from the server at the listen address, or at
// o.url, and prints the upstream table, the firing and pending alerts, the
// cache and the shared store, or with o.raw the JSON itself. Once it has
// read the status it returns statusExit's verdict on it: 0 when every
// upstream is healthy, 1 when one is not or the shared store is down, 2
// while a P0 alert fires. It returns 1 when the server
// could not be reached or answered anything but 200 and a report, and 2
// for a bad --url; each failure is one line on stderr.
func status(ctx context.Context, cfg *Config, o *statusOptions, client statusDoer, stdout, stderr io.Writer) int {
	target, err := statusURL(cfg.Listen, o.url)
	if err != nil {
		fmt.Fprintf(stderr, "gofailover: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	body, err := fetchStatus(ctx, client, target)
	if err != nil {
		fmt.Fprintf(stderr, "gofailover: status: %v\n", err)
		return exitFailed
	}
	rep, err := statuspage.DecodeReport(bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(stderr, "gofailover: status: %s did not answer with a status report: %v\n", target, err)
		return exitFailed
	}
	if o.raw {
		_, err = stdout.Write(body)
	} else {
		err = statuspage.WriteText(stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gofailover: status: writing: %v\n", err)
		return exitFailed
	}
	return statusExit(rep)
}

// statusURL returns the URL of the status JSON: under base when it is set,
// otherwise on the server at the listen address.
func statusURL(listen, base string) (string, error) {
	if base == "" {
		s, err := serverURL(listen)
		if err != nil {
			return "", err
		}
		base = s
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", configErrorf("--url: %q is not an http or https URL", base)
	}
	if !strings.HasSuffix(u.Path, "/status.json") {
		u = u.JoinPath("status.json")
	}
	return u.String(), nil
}

// fetchStatus GETs target and returns the body of a 200 answer, read up to
// one byte past the largest report so that DecodeReport can refuse it.
func fetchStatus(ctx context.Context, client statusDoer, target string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("requesting %s: %w", target, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach %s: %w", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, statuspage.MaxReportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		reason, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		reason = printable(reason, 200)
		if reason != "" {
			reason = ": " + reason
		}
		return nil, fmt.Errorf("%s answered %s%s", target, resp.Status, reason)
	}
	return body, nil
}

// printable is s without control characters or invalid UTF-8, cut to at
// most n runes, to be shown on a terminal.
func printable(s string, n int) string {
	r := []rune(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, " ")))
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return string(r)
}
