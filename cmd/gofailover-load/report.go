package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Report is the result of one run. The -json flag prints it as is; sizes
// of memory are in MiB (1<<20 bytes), rates per second of wall time.
type Report struct {
	// Settings describe how the run was made.
	Settings Settings `json:"settings"`
	// Targets are the throughput targets, one per fixture measured.
	Targets []Target `json:"targets"`
	// Memory holds the resident-set readings and their targets.
	Memory Memory `json:"memory"`
	// Notes are things the reader should know: child warnings, failed
	// VmHWM resets, unclean exits.
	Notes []string `json:"notes,omitempty"`
	// Pass reports whether every target was met with no request errors.
	Pass bool `json:"pass"`
}

// Settings describe how a run was made.
type Settings struct {
	// GoVersion is the load command's Go version, OS and architecture.
	GoVersion string `json:"go_version"`
	// NumCPU is the number of CPUs the machine offers.
	NumCPU int `json:"num_cpu"`
	// Trials is the number of trials; each measures every target on both servers.
	Trials int `json:"trials"`
	// DurationSeconds is the length of each measured run.
	DurationSeconds float64 `json:"duration_seconds"`
	// Clients, ZipClients and BigClients are the concurrent clients of the
	// small-answer, zip and big-download runs.
	Clients    int `json:"clients"`
	ZipClients int `json:"zip_clients"`
	BigClients int `json:"big_clients"`
	// BigZipBytes is the size of the big zip.
	BigZipBytes int64 `json:"big_zip_bytes"`
	// SettleSeconds is the pause before each idle memory reading.
	SettleSeconds float64 `json:"settle_seconds"`
	// Baseline is what gofailover is compared with: "memory" (a net/http
	// handler serving the bytes from memory) or "files" (http.FileServer
	// over the bytes on disk). The fields named Fileserver hold its figures.
	Baseline string `json:"baseline"`
	// FileWriteChunk is the piece size the file server's files were written
	// in; zero means each in one write.
	FileWriteChunk int64 `json:"file_write_chunk"`
	// GofailoverEnv are the extra environment settings given to gofailover.
	GofailoverEnv []string `json:"gofailover_env,omitempty"`
	// LoadAvgStart and LoadAvgEnd are /proc/loadavg's 1, 5 and 15 minute
	// averages before and after the run, a hint of how noisy the machine was.
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end"`
	// ElapsedSeconds is the run's wall time.
	ElapsedSeconds float64 `json:"elapsed_seconds"`
}

// Target is one throughput target: a URL both servers answer, measured on
// each in every trial.
type Target struct {
	// Name is the fixture's short name, e.g. ".info" or "zip 40MiB".
	Name string `json:"name"`
	// Path is the URL path requested.
	Path string `json:"path"`
	// Bytes is the answer's length.
	Bytes int64 `json:"bytes"`
	// Clients is the number of concurrent keep-alive clients.
	Clients int `json:"clients"`
	// Metric is the figure the goal compares: "req/s" or "MiB/s".
	Metric string `json:"metric"`
	// Goal is the least acceptable median of Ratio.
	Goal float64 `json:"goal"`
	// Gofailover and Fileserver are each server's figures.
	Gofailover Side `json:"gofailover"`
	Fileserver Side `json:"fileserver"`
	// Ratio is gofailover's Metric over the file server's, trial by trial
	// (each pair was measured back to back).
	Ratio Series `json:"ratio"`
	// Pass reports whether the median ratio met Goal with no errors and
	// every gofailover answer a cache hit.
	Pass bool `json:"pass"`
}

// Side is one server's figures for one target over all trials.
type Side struct {
	// ReqPerSec and MiBPerSec are the rates of each trial.
	ReqPerSec Series `json:"req_per_sec"`
	MiBPerSec Series `json:"mib_per_sec"`
	// Requests counts correct, complete answers over all trials.
	Requests int64 `json:"requests"`
	// Errors counts failed requests: transport errors, statuses other than
	// 200, short or wrong bodies.
	Errors int64 `json:"errors"`
	// Misses counts gofailover answers without X-Gofailover-Cache: hit.
	Misses int64 `json:"misses"`
	// FirstError describes the first error or miss, if any.
	FirstError string `json:"first_error,omitempty"`
}

// Series is one figure measured once per trial.
type Series struct {
	// Median, Min and Max summarise Values.
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// Values are the figures in trial order.
	Values []float64 `json:"values"`
}

// Memory holds the resident-set readings, in MiB.
type Memory struct {
	// IdleGoalMiB is the most gofailover's idle VmRSS may be.
	IdleGoalMiB float64 `json:"idle_goal_mib"`
	// Idle is each server's memory after the cache was warmed (the big zip
	// included), the mirror closed, and a settle; the goal applies to
	// gofailover's VmRSS here.
	Idle Pair `json:"idle"`
	// IdlePass reports whether gofailover met IdleGoalMiB.
	IdlePass bool `json:"idle_pass"`
	// AfterLoad is each server's memory after all the trials and a settle,
	// for information.
	AfterLoad Pair `json:"after_load"`
	// BigGoalMiB is the most gofailover's VmRSS may reach during the big download.
	BigGoalMiB float64 `json:"big_goal_mib"`
	// Big is each server's figures while BigClients download the big zip at once.
	Big BigPair `json:"big"`
	// BigPass reports whether gofailover's peak (the larger of the sampled
	// VmRSS and VmHWM, over all trials) met BigGoalMiB with no errors.
	BigPass bool `json:"big_pass"`
}

// Pair is one memory reading of each server.
type Pair struct {
	Gofailover Mem `json:"gofailover"`
	Fileserver Mem `json:"fileserver"`
}

// Mem is one reading of /proc/<pid>/status, in MiB.
type Mem struct {
	// RSS is VmRSS, the resident set: RssAnon + RssFile + RssShmem.
	RSS float64 `json:"rss"`
	// HWM is VmHWM, the peak resident set.
	HWM float64 `json:"hwm"`
	// Anon is RssAnon: the Go heap, stacks and other private memory.
	Anon float64 `json:"anon"`
	// File is RssFile: resident pages of mapped files (the binary, mmapped data).
	File float64 `json:"file"`
}

// BigPair is each server's figures in the big download.
type BigPair struct {
	Gofailover Big `json:"gofailover"`
	Fileserver Big `json:"fileserver"`
}

// Big is one server's figures while many clients download the big zip at once.
type Big struct {
	// PeakMiB is the largest of PeakSampledMiB and HWMMiB.
	PeakMiB float64 `json:"peak_mib"`
	// PeakSampledMiB is the largest VmRSS sampled during the downloads, over all trials.
	PeakSampledMiB float64 `json:"peak_sampled_mib"`
	// HWMMiB is the largest VmHWM read right after a download, over all
	// trials; VmHWM is reset (clear_refs) before each download.
	HWMMiB float64 `json:"hwm_mib"`
	// PeakPerTrial is each trial's larger of sampled peak and VmHWM.
	PeakPerTrial []float64 `json:"peak_per_trial"`
	// BeforePerTrial is each trial's VmRSS just before the download started.
	BeforePerTrial []float64 `json:"before_per_trial"`
	// Samples is the number of VmRSS samples taken, over all trials.
	Samples int `json:"samples"`
	// MiBPerSec is the aggregate throughput of the simultaneous downloads.
	MiBPerSec Series `json:"mib_per_sec"`
	// Seconds is the wall time until the last client had its whole zip.
	Seconds Series `json:"seconds"`
	// Errors counts failed downloads; Misses gofailover answers that were not hits.
	Errors int64 `json:"errors"`
	Misses int64 `json:"misses"`
	// Problems lists errors of the download or of the memory readings.
	Problems []string `json:"problems,omitempty"`
}

// mib converts bytes to MiB.
func mib(n int64) float64 { return float64(n) / (1 << 20) }

// series summarises per-trial values.
func series(values []float64) Series {
	s := Series{Values: values}
	if len(values) == 0 {
		return s
	}
	sorted := slices.Sorted(slices.Values(values))
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	if n := len(sorted); n%2 == 1 {
		s.Median = sorted[n/2]
	} else {
		s.Median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return s
}

func side(runs []runResult) Side {
	var s Side
	var rps, mbps []float64
	for _, r := range runs {
		rps = append(rps, r.reqPerSec())
		mbps = append(mbps, r.mibPerSec())
		s.Requests += r.requests
		s.Errors += r.errors
		s.Misses += r.misses
		if s.FirstError == "" {
			s.FirstError = r.firstErr
		}
	}
	s.ReqPerSec, s.MiBPerSec = series(rps), series(mbps)
	return s
}

func memOf(m procMemory) Mem {
	return Mem{RSS: mib(m.rss), HWM: mib(m.hwm), Anon: mib(m.anon), File: mib(m.file)}
}

func bigOf(runs []bigRun) Big {
	var b Big
	var rates, secs []float64
	for _, r := range runs {
		p := max(mib(r.peak), mib(r.hwm))
		b.PeakPerTrial = append(b.PeakPerTrial, p)
		b.BeforePerTrial = append(b.BeforePerTrial, mib(r.before))
		b.PeakSampledMiB = max(b.PeakSampledMiB, mib(r.peak))
		b.HWMMiB = max(b.HWMMiB, mib(r.hwm))
		b.PeakMiB = max(b.PeakMiB, p)
		b.Samples += r.samples
		rates = append(rates, r.result.mibPerSec())
		secs = append(secs, r.result.elapsed.Seconds())
		b.Errors += r.result.errors
		b.Misses += r.result.misses
		if r.result.firstErr != "" {
			b.Problems = append(b.Problems, r.result.firstErr)
		}
		if r.err != "" {
			b.Problems = append(b.Problems, r.err)
		}
	}
	b.MiBPerSec, b.Seconds = series(rates), series(secs)
	return b
}

// buildReport turns the measurements into a Report and decides the verdicts.
func buildReport(st Settings, targets []*target, idle, after map[string]procMemory, big map[string][]bigRun, notes []string) *Report {
	rep := &Report{Settings: st, Notes: notes, Pass: true}
	for _, tg := range targets {
		t := Target{
			Name:       tg.fx.name,
			Path:       tg.fx.path,
			Bytes:      tg.fx.size,
			Clients:    tg.clients,
			Metric:     tg.metric,
			Goal:       tg.goal,
			Gofailover: side(tg.runs[nameGofailover]),
			Fileserver: side(tg.runs[nameFileserver]),
		}
		var ratios []float64
		gf, fsrv := tg.runs[nameGofailover], tg.runs[nameFileserver]
		for i := range min(len(gf), len(fsrv)) {
			a, b := gf[i].reqPerSec(), fsrv[i].reqPerSec()
			if tg.metric == "MiB/s" {
				a, b = gf[i].mibPerSec(), fsrv[i].mibPerSec()
			}
			if b > 0 {
				ratios = append(ratios, a/b)
			}
		}
		t.Ratio = series(ratios)
		t.Pass = len(ratios) > 0 && t.Ratio.Median >= t.Goal &&
			t.Gofailover.Errors == 0 && t.Gofailover.Misses == 0 && t.Fileserver.Errors == 0
		rep.Pass = rep.Pass && t.Pass
		rep.Targets = append(rep.Targets, t)
	}
	m := &rep.Memory
	m.IdleGoalMiB, m.BigGoalMiB = idleGoalMiB, bigGoalMiB
	m.Idle = Pair{Gofailover: memOf(idle[nameGofailover]), Fileserver: memOf(idle[nameFileserver])}
	m.AfterLoad = Pair{Gofailover: memOf(after[nameGofailover]), Fileserver: memOf(after[nameFileserver])}
	m.IdlePass = m.Idle.Gofailover.RSS > 0 && m.Idle.Gofailover.RSS <= idleGoalMiB
	m.Big = BigPair{Gofailover: bigOf(big[nameGofailover]), Fileserver: bigOf(big[nameFileserver])}
	g := m.Big.Gofailover
	m.BigPass = g.PeakMiB > 0 && g.PeakMiB <= bigGoalMiB && g.Errors == 0 && g.Misses == 0 && g.HWMMiB > 0
	rep.Pass = rep.Pass && m.IdlePass && m.BigPass
	return rep
}

// writeJSON prints the report as indented JSON.
func (rep *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// fmtSeries formats "median [min..max]" with the given precision.
func fmtSeries(s Series, prec int) string {
	return fmt.Sprintf("%.*f [%.*f..%.*f]", prec, s.Median, prec, s.Min, prec, s.Max)
}

// writeTable prints the report for people.
func (rep *Report) writeTable(w io.Writer) error {
	st := rep.Settings
	baseline := "a net/http handler serving the same bytes from memory (http.ServeContent over a bytes.Reader)"
	if st.Baseline == "files" {
		baseline = "a net/http file server (http.FileServer) serving the same bytes from disk"
	}
	fmt.Fprintf(w, "gofailover-load: gofailover cache hits vs %s, both on 127.0.0.1, both child processes\n", baseline)
	fmt.Fprintf(w, "%s, %d CPUs; %d trials, %gs per run, order alternating; clients %d (small), %d (zips), %d (big); load average %s -> %s; %.0fs in all\n",
		st.GoVersion, st.NumCPU, st.Trials, st.DurationSeconds, st.Clients, st.ZipClients, st.BigClients, st.LoadAvgStart, st.LoadAvgEnd, st.ElapsedSeconds)
	if st.FileWriteChunk > 0 {
		fmt.Fprintf(w, "baseline's files written in %s pieces\n", formatSize(st.FileWriteChunk))
	}
	if len(st.GofailoverEnv) > 0 {
		fmt.Fprintf(w, "gofailover environment: %s\n", strings.Join(st.GofailoverEnv, " "))
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "THROUGHPUT\tCLIENTS\tMETRIC\tGOFAILOVER median [min..max]\tBASELINE median [min..max]\tRATIO median [min..max]\tGOAL\tRESULT\t")
	for _, t := range rep.Targets {
		name := fmt.Sprintf("%s (%d B)", t.Name, t.Bytes)
		result := verdict(t.Pass)
		if n := t.Gofailover.Errors + t.Gofailover.Misses + t.Fileserver.Errors; n > 0 {
			result += fmt.Sprintf(" (%d errors/misses)", n)
		}
		switch t.Metric {
		case "MiB/s":
			fmt.Fprintf(tw, "%s\t%d\tMiB/s\t%s\t%s\t%s\t>= %.2f\t%s\t\n", name, t.Clients,
				fmtSeries(t.Gofailover.MiBPerSec, 0), fmtSeries(t.Fileserver.MiBPerSec, 0), fmtSeries(t.Ratio, 2), t.Goal, result)
			fmt.Fprintf(tw, "\t\treq/s\t%s\t%s\t\t\t\t\n",
				fmtSeries(t.Gofailover.ReqPerSec, 1), fmtSeries(t.Fileserver.ReqPerSec, 1))
		default:
			fmt.Fprintf(tw, "%s\t%d\treq/s\t%s\t%s\t%s\t>= %.2f\t%s\t\n", name, t.Clients,
				fmtSeries(t.Gofailover.ReqPerSec, 0), fmtSeries(t.Fileserver.ReqPerSec, 0), fmtSeries(t.Ratio, 2), t.Goal, result)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)

	m := rep.Memory
	mem := func(x Mem) string {
		return fmt.Sprintf("%.1f (anon %.1f, file %.1f)", x.RSS, x.Anon, x.File)
	}
	big := func(b Big) string {
		return fmt.Sprintf("%.1f (sampled %.1f, VmHWM %.1f)", b.PeakMiB, b.PeakSampledMiB, b.HWMMiB)
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMORY, MiB\tGOFAILOVER\tBASELINE\tGOAL\tRESULT\t")
	fmt.Fprintf(tw, "idle VmRSS, cache warm (%s zip included), %gs settle\t%s\t%s\t<= %.0f\t%s\t\n",
		formatSize(st.BigZipBytes), st.SettleSeconds, mem(m.Idle.Gofailover), mem(m.Idle.Fileserver), m.IdleGoalMiB, verdict(m.IdlePass))
	fmt.Fprintf(tw, "  VmHWM by then (peak since start: warming, i.e. fetching, verifying and storing)\t%.1f\t%.1f\t\t\t\n",
		m.Idle.Gofailover.HWM, m.Idle.Fileserver.HWM)
	result := verdict(m.BigPass)
	if n := m.Big.Gofailover.Errors + m.Big.Gofailover.Misses; n > 0 {
		result += fmt.Sprintf(" (%d errors/misses)", n)
	}
	fmt.Fprintf(tw, "peak VmRSS, %d clients download the %s zip at once (max of %d trials)\t%s\t%s\t<= %.0f\t%s\t\n",
		st.BigClients, formatSize(st.BigZipBytes), st.Trials, big(m.Big.Gofailover), big(m.Big.Fileserver), m.BigGoalMiB, result)
	fmt.Fprintf(tw, "  peak per trial\t%s\t%s\t\t\t\n", floats(m.Big.Gofailover.PeakPerTrial), floats(m.Big.Fileserver.PeakPerTrial))
	fmt.Fprintf(tw, "  VmRSS just before each download\t%s\t%s\t\t\t\n", floats(m.Big.Gofailover.BeforePerTrial), floats(m.Big.Fileserver.BeforePerTrial))
	fmt.Fprintf(tw, "  aggregate MiB/s of those downloads\t%s\t%s\t\t\t\n", fmtSeries(m.Big.Gofailover.MiBPerSec, 0), fmtSeries(m.Big.Fileserver.MiBPerSec, 0))
	fmt.Fprintf(tw, "idle VmRSS after all the load, %gs settle (information)\t%s\t%s\t\t\t\n",
		st.SettleSeconds, mem(m.AfterLoad.Gofailover), mem(m.AfterLoad.Fileserver))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)

	var problems []string
	for _, t := range rep.Targets {
		for _, s := range []struct {
			name string
			side Side
		}{{nameGofailover, t.Gofailover}, {nameFileserver, t.Fileserver}} {
			if s.side.Errors+s.side.Misses > 0 {
				problems = append(problems, fmt.Sprintf("%s %s: %d errors, %d non-hits; first: %s", t.Name, s.name, s.side.Errors, s.side.Misses, s.side.FirstError))
			}
		}
	}
	for _, s := range []struct {
		name string
		big  Big
	}{{nameGofailover, m.Big.Gofailover}, {nameFileserver, m.Big.Fileserver}} {
		for _, p := range s.big.Problems {
			problems = append(problems, fmt.Sprintf("big zip %s: %s", s.name, p))
		}
	}
	if len(problems) == 0 {
		fmt.Fprintln(w, "errors: none (every answer 200 with the fixture's exact length, small bodies compared byte for byte; every gofailover answer a cache hit)")
	} else {
		fmt.Fprintln(w, "errors:")
		for _, p := range problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "overall: %s\n", verdict(rep.Pass))
	return nil
}

// floats formats values with one decimal, space-separated.
func floats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(s, " ")
}
