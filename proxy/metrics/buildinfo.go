package metrics

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// buildInfoLabels returns the version, revision and goversion labels of
// gofailover_build_info from bi, the binary's build information (nil when
// there is none): the main module's version ("(devel)" when unknown), the
// VCS revision with "-modified" appended for a dirty tree ("unknown" when
// not stamped), and the Go version that built it.
func buildInfoLabels(bi *debug.BuildInfo) (version, revision, goVersion string) {
	version, revision, goVersion = "(devel)", "unknown", runtime.Version()
	if bi == nil {
		return version, revision, goVersion
	}
	if bi.Main.Version != "" {
		version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		goVersion = bi.GoVersion
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if s.Value != "" {
				revision = s.Value
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && revision != "unknown" {
		revision += "-modified"
	}
	return version, revision, goVersion
}

// newBuildInfo returns the gofailover_build_info gauge: always 1, with the
// labels of buildInfoLabels(bi).
func newBuildInfo(bi *debug.BuildInfo) prometheus.Collector {
	version, revision, goVersion := buildInfoLabels(bi)
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace:   namespace,
		Name:        "build_info",
		Help:        "Always 1; its labels describe the running binary: the main module's version ((devel) when the build recorded none), the VCS revision (-modified for a dirty tree; unknown when not stamped) and the Go version that built it.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion},
	})
	g.Set(1)
	return g
}

// readBuildInfo returns the running binary's build information, or nil.
func readBuildInfo() *debug.BuildInfo {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi
	}
	return nil
}
