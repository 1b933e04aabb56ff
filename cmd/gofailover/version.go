package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// versionInfo is what the binary knows of its own build: the main
// module's version and, when the build stamped them, the VCS revision and
// commit time. It is the one source of the version that `gofailover
// version`, the start-up log line and the status report show.
type versionInfo struct {
	// Version is the main module's version, "(devel)" when unknown.
	Version string
	// Revision is the VCS revision, with "-modified" for a dirty tree;
	// empty when not stamped.
	Revision string
	// Time is the revision's commit time as stamped (RFC 3339); empty
	// when not stamped.
	Time string
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string
}

// readVersion returns the running binary's versionInfo.
func readVersion() versionInfo {
	bi, _ := debug.ReadBuildInfo()
	return versionFrom(bi)
}

// versionFrom returns the versionInfo in bi, which may be nil.
func versionFrom(bi *debug.BuildInfo) versionInfo {
	v := versionInfo{Version: "(devel)", GoVersion: runtime.Version()}
	if bi == nil {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.GoVersion = bi.GoVersion
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && v.Revision != "" {
		v.Revision += "-modified"
	}
	return v
}

// String is the version in one line: "v1.2.3", or with a stamped
// revision, shortened to 12 digits, "v0.0.0-20260310120000-0123456789ab
// (revision 0123456789ab, 2026-03-10T12:00:00Z)".
func (v versionInfo) String() string {
	var extra []string
	if v.Revision != "" {
		// 12 hex digits name a commit as the go command's pseudo-versions do.
		rev, dirty := strings.CutSuffix(v.Revision, "-modified")
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "-modified"
		}
		extra = append(extra, "revision "+rev)
	}
	if v.Time != "" {
		extra = append(extra, v.Time)
	}
	if len(extra) == 0 {
		return v.Version
	}
	return v.Version + " (" + strings.Join(extra, ", ") + ")"
}

// buildVersion is the running binary's version in one line, as
// versionInfo.String gives it.
func buildVersion() string {
	return readVersion().String()
}

// printVersion writes what `gofailover version` prints.
func printVersion(w io.Writer, v versionInfo) error {
	_, err := fmt.Fprintf(w, "gofailover %s %s\n", v, v.GoVersion)
	if err != nil {
		return fmt.Errorf("writing the version: %w", err)
	}
	return nil
}
