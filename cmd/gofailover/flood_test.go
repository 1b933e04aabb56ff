package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// This file is the connection-flood rig: while a helper process keeps
// hostile connections of five kinds open against a gofailover process
// (flood_hostile_test.go), cached hits are timed from this one.

// floodSpec says how many hostile connections of each kind a flood keeps
// open, and how long cached hits are timed meanwhile.
type floodSpec struct {
	// hostile is the number of connections of each kind kept open: one
	// the server closes is opened again after reopenAfter (non-readers
	// are opened once).
	hostile     [numHostileKinds]int
	reopenAfter time.Duration
	// hitClients time cached hits: half on keep-alive connections, half
	// on a new connection each; a hit every hitPause per client.
	hitClients int
	hitPause   time.Duration
	// measure is how long hits are timed once every hostile connection
	// has been opened once.
	measure time.Duration
	// closeWithin is, per kind, how long the server may take to close a
	// hostile connection; the rig waits that long for the last ones.
	closeWithin [numHostileKinds]time.Duration
}

// total is the number of hostile connections kept open.
func (s floodSpec) total() int {
	n := 0
	for _, c := range s.hostile {
		n += c
	}
	return n
}

// floodTarget is the server under a flood and what it has cached.
type floodTarget struct {
	url      string
	info     string // path of a cached .info
	infoBody []byte
	zip      string // path of a cached zip
	zipSize  int
}

// floodResult is what a flood showed.
type floodResult struct {
	// hits are the cached hits' latencies; failures the hits that failed.
	// newConn and keptConn are the latencies of the hits made on a new
	// connection each, and on kept connections.
	hits, newConn, keptConn []time.Duration
	failures                []string
	hostileReport
}

// percentile returns the p-th percentile (0-100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// flood runs spec against target and returns what it showed: the hostile
// connections from a helper process (this test binary, running
// TestFloodHelper), as an attacker elsewhere would, and the hits from this
// one. It stops by itself: the helper stops reopening when the hits have
// been timed, and reports once every connection is closed.
func flood(tb testing.TB, target floodTarget, spec floodSpec) *floodResult {
	tb.Helper()
	order, err := json.Marshal(hostileOrder{
		Addr:        strings.TrimPrefix(target.url, "http://"),
		Info:        target.info,
		Zip:         target.zip,
		ZipSize:     target.zipSize,
		Hostile:     spec.hostile,
		ReopenAfter: spec.reopenAfter,
		CloseWithin: spec.closeWithin,
	})
	if err != nil {
		tb.Fatal(err)
	}
	helper := exec.Command(os.Args[0], "-test.run=^TestFloodHelper$", "-test.count=1")
	helper.Env = append(os.Environ(), floodHelperEnv+"="+string(order))
	helper.Stderr = os.Stderr
	stdin, err := helper.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := helper.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		helper.Process.Kill()
		helper.Wait()
	}()
	out := bufio.NewReader(stdout)
	if line, err := out.ReadString('\n'); err != nil || strings.TrimSpace(line) != hostileReady {
		tb.Fatalf("flood helper: %q, %v", line, err)
	}

	res := &floodResult{}
	var mu sync.Mutex // guards res
	var hitters sync.WaitGroup
	end := time.Now().Add(spec.measure)
	for c := range spec.hitClients {
		hitters.Go(func() {
			tr := &http.Transport{DisableKeepAlives: c%2 == 1, DisableCompression: true, MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			for time.Now().Before(end) {
				start := time.Now()
				err := getHit(client, target.url+target.info, target.infoBody)
				took := time.Since(start)
				mu.Lock()
				if err != nil {
					res.failures = append(res.failures, fmt.Sprintf("%s after %v: %v", start.Format("15:04:05.000"), took.Round(time.Millisecond), err))
				} else {
					res.hits = append(res.hits, took)
					if c%2 == 1 {
						res.newConn = append(res.newConn, took)
					} else {
						res.keptConn = append(res.keptConn, took)
					}
				}
				mu.Unlock()
				time.Sleep(spec.hitPause)
			}
		})
	}
	hitters.Wait()
	stdin.Close() // the helper stops reopening, and reports
	if err := json.NewDecoder(out).Decode(&res.hostileReport); err != nil {
		tb.Fatalf("flood helper's report: %v", err)
	}
	return res
}

// getHit asks for a cached answer and checks it.
func getHit(client *http.Client, url string, want []byte) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return fmt.Errorf("reading the body: %w", err)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("status %s", resp.Status)
	case resp.Header.Get("X-Gofailover-Cache") != "hit":
		return fmt.Errorf("X-Gofailover-Cache %q, want hit", resp.Header.Get("X-Gofailover-Cache"))
	case !bytes.Equal(body, want):
		return fmt.Errorf("body %q, want %q", body, want)
	}
	return nil
}

// scrape reads the server's /metrics and returns the samples whose name
// (with labels) starts with prefix.
func scrape(tb testing.TB, url, prefix string) map[string]float64 {
	tb.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		tb.Fatalf("scraping metrics: %v", err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// startLimitedProcess starts the gofailover binary as startProcess does,
// with the open-file limit (soft and hard) set to nofile, unless it is 0:
// through prlimit(1), or a shell's ulimit where prlimit is missing.
func startLimitedProcess(tb testing.TB, nofile int, env ...string) *process {
	tb.Helper()
	bin := buildBinary(tb)
	cmd := exec.Command(bin)
	if nofile == 0 {
		// no limit of its own
	} else if prlimit, err := exec.LookPath("prlimit"); err == nil {
		cmd = exec.Command(prlimit, fmt.Sprintf("--nofile=%d:%d", nofile, nofile), "--", bin)
	} else {
		cmd = exec.Command("/bin/sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0"`, nofile), bin)
	}
	return startCommand(tb, cmd, env...)
}

// openFileLimit returns this process's soft limit on open files.
func openFileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return uint64(lim.Cur)
}
