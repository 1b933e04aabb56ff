package mirrortest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// GoTimeout bounds one RunGo invocation.
const GoTimeout = 2 * time.Minute

// GoEnv returns a complete, hermetic environment for a child go command that
// fetches modules from proxyURL and verifies them against db (GOSUMDB=off if
// db is nil). HOME, GOPATH, GOMODCACHE and GOCACHE are fresh directories
// under tb.TempDir(); the module cache is writable (-modcacherw) so the test
// can remove it, and the go command's telemetry is switched off in that HOME
// (a mode file; see telemetryOff) so no process writes there after the
// command exits. Only PATH and TMPDIR are taken from this process's
// environment: nothing else is inherited.
//
// The go command reaches db through the first proxy in GOPROXY that answers
// 200 to /sumdb/<db.Name>/supported. If every proxy answers 404 or 410
// there, it falls back to https://<db.Name>/ directly: with a name under
// .test that fails, but only after a DNS lookup leaves the machine. (A
// GOSUMDB of "<key> <url>" would bypass the proxies altogether.)
func GoEnv(tb testing.TB, proxyURL string, db *SumDB) []string {
	tb.Helper()
	tmp := tb.TempDir()
	gosumdb := "off"
	if db != nil {
		gosumdb = db.VerifierKey
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + tmp,
		"GOPATH=" + filepath.Join(tmp, "gopath"),
		"GOMODCACHE=" + filepath.Join(tmp, "gopath", "pkg", "mod"),
		"GOCACHE=" + filepath.Join(tmp, "gocache"),
		"GOPROXY=" + proxyURL,
		"GOSUMDB=" + gosumdb,
		"GONOSUMDB=",
		"GONOSUMCHECK=",
		"GOPRIVATE=",
		"GONOPROXY=",
		"GOINSECURE=",
		"GOFLAGS=-modcacherw",
		"GOTOOLCHAIN=local",
		"GOENV=off",
		"GOWORK=off",
		"GO111MODULE=on",
		"GOTELEMETRY=off",
		"CGO_ENABLED=0",
		"GOVCS=*:off",
	}
	if tmpdir, ok := os.LookupEnv("TMPDIR"); ok {
		env = append(env, "TMPDIR="+tmpdir)
	}
	if err := telemetryOff(tmp); err != nil {
		tb.Fatal(err)
	}
	return env
}

// telemetryOff turns the go command's telemetry off for a child whose HOME
// is home. GOTELEMETRY in the environment is only reported by go env, not
// obeyed: the mode lives in <user config dir>/go/telemetry/mode, and with
// the default mode ("local") the go command and a detached child process
// keep writing counter files under HOME after the command exits, racing the
// test's TempDir cleanup.
func telemetryOff(home string) error {
	cfg := filepath.Join(home, ".config") // os.UserConfigDir without XDG_CONFIG_HOME
	switch runtime.GOOS {
	case "darwin", "ios":
		cfg = filepath.Join(home, "Library", "Application Support")
	case "plan9":
		cfg = filepath.Join(home, "lib")
	}
	dir := filepath.Join(cfg, "go", "telemetry")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("mirrortest: turning go telemetry off: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mode"), []byte("off\n"), 0o644); err != nil {
		return fmt.Errorf("mirrortest: turning go telemetry off: %w", err)
	}
	return nil
}

// goBinary returns the go command to run: the one on PATH, else the one in
// the GOROOT this test binary was built with.
func goBinary() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("mirrortest: no go command on PATH or in GOROOT: %w", err)
	}
	return p, nil
}

// RunGo runs the go command with args in dir under env (usually from GoEnv),
// with a GoTimeout deadline, and returns its combined output. The error, if
// any, names the command and wraps the exec error.
func RunGo(tb testing.TB, env []string, dir string, args ...string) (string, error) {
	tb.Helper()
	goCmd, err := goBinary()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), GoTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("mirrortest: go %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// ScratchModule writes a go.mod for module path, requiring the given module
// versions (path -> version), in a new temporary directory, and returns the
// directory.
func ScratchModule(tb testing.TB, path string, requires map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "module %s\n\ngo 1.21\n", path)
	if len(requires) > 0 {
		paths := make([]string, 0, len(requires))
		for p := range requires {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		b.WriteString("\nrequire (\n")
		for _, p := range paths {
			fmt.Fprintf(&b, "\t%s %s\n", p, requires[p])
		}
		b.WriteString(")\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(b.String()), 0o644); err != nil {
		tb.Fatalf("mirrortest: writing scratch go.mod: %v", err)
	}
	return dir
}
