package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Names of the two servers, as they appear in the report.
const (
	nameGofailover = "gofailover"
	nameFileserver = "fileserver"
)

// child is a server running as a child process.
type child struct {
	name string
	cmd  *exec.Cmd
	url  string // http://127.0.0.1:port
	pid  int
	// stdin is the file server's standard input; closing it stops the child.
	stdin io.Closer
	out   *tail
	done  chan struct{} // closed when the process has exited
}

// tail keeps the last lines a child wrote and counts its warnings.
type tail struct {
	mu    sync.Mutex
	lines []string
	warns int
}

const tailLines = 40

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
		t.warns++
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > tailLines {
		t.lines = t.lines[len(t.lines)-tailLines:]
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

func (t *tail) warnings() (int, []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var w []string
	for _, l := range t.lines {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			w = append(w, l)
		}
	}
	return t.warns, w
}

// listeningLine matches the line either server logs once it listens.
var listeningLine = regexp.MustCompile(`(?:gofailover|fileserver) listening"? addr=(\S+)`)

// startChild starts cmd with its stdout and stderr on one pipe, and waits
// until it logs its listening address, exits or ctx ends.
func startChild(ctx context.Context, name string, cmd *exec.Cmd) (*child, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	setDeathSignal(cmd)
	c := &child{name: name, cmd: cmd, out: &tail{}, done: make(chan struct{})}
	if c.name == nameFileserver {
		in, err := cmd.StdinPipe()
		if err != nil {
			pr.Close()
			pw.Close()
			return nil, err
		}
		c.stdin = in
	}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	pw.Close()
	c.pid = cmd.Process.Pid
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Text()
			c.out.add(line)
			if m := listeningLine.FindStringSubmatch(line); m != nil && !found {
				found = true
				addr <- m[1]
			}
		}
		pr.Close()
	}()
	go func() {
		cmd.Wait()
		close(c.done)
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case a := <-addr:
		host, _, err := net.SplitHostPort(a)
		if err != nil || host != "127.0.0.1" {
			c.stop()
			return nil, fmt.Errorf("%s listens on %q, not on 127.0.0.1", name, a)
		}
		c.url = "http://" + a
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("%s exited before listening (%v); output:\n%s", name, cmd.ProcessState, c.out)
	case <-timer.C:
		c.stop()
		return nil, fmt.Errorf("%s did not log its address within 30s; output:\n%s", name, c.out)
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

// stop ends the child: SIGTERM (and closed stdin), then SIGKILL after 15s.
// It returns the exit status, or -1 if the child had to be killed.
func (c *child) stop() int {
	select {
	case <-c.done:
		return c.cmd.ProcessState.ExitCode()
	default:
	}
	if c.stdin != nil {
		c.stdin.Close()
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return c.cmd.ProcessState.ExitCode()
	case <-time.After(15 * time.Second):
	}
	c.cmd.Process.Kill()
	<-c.done
	return -1
}

// alive reports an error if the child has exited.
func (c *child) alive() error {
	select {
	case <-c.done:
		return fmt.Errorf("%s exited (%v); output:\n%s", c.name, c.cmd.ProcessState, c.out)
	default:
		return nil
	}
}

// findModuleRoot walks up from the working directory to the directory
// holding go.mod.
func findModuleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			if !strings.Contains(string(data), "module github.com/gofailover/gofailover\n") {
				return "", fmt.Errorf("%s/go.mod is not gofailover's; run from inside the gofailover module", dir)
			}
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s; run from inside the gofailover module", wd)
		}
		dir = parent
	}
}

// buildGofailover builds ./cmd/gofailover of the module at root into dir.
func buildGofailover(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "gofailover")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gofailover")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gofailover: %v\n%s", err, out)
	}
	return bin, nil
}

// childEnv is the base environment of both children: no GOGC, GOMEMLIMIT or
// proxy settings leak in from the caller's environment.
func childEnv(home string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
}

// startGofailover starts the gofailover binary on 127.0.0.1:0 with its cache
// in cacheDir and upstream as its only mirror. sumdb is its checksum
// database setting (GOSUMDB syntax); it must name the database's URL on
// 127.0.0.1, so that verification reaches nothing else. Every setting is
// given explicitly, so gofailover never consults the go command's. A
// gofailover older than checksum verification ignores the settings it does
// not know.
func startGofailover(ctx context.Context, bin, home, cacheDir, upstream, sumdb string, extra []string) (*child, error) {
	cmd := exec.Command(bin)
	cmd.Env = append(childEnv(home),
		"GOFAILOVER_LISTEN=127.0.0.1:0",
		"GOFAILOVER_CACHE_DIR="+cacheDir,
		"GOFAILOVER_UPSTREAMS="+upstream,
		"GOFAILOVER_SUMDB="+sumdb,
		"GOFAILOVER_PRIVATE=private.invalid",
		"GOFAILOVER_LOG_LEVEL=info", // the listening line is at info
		"GOFAILOVER_LOG_FORMAT=text",
	)
	cmd.Env = append(cmd.Env, extra...)
	return startChild(ctx, nameGofailover, cmd)
}

// startFileServer starts this program in its -fileserver mode serving dir:
// from memory when memory is set, else from the files.
func startFileServer(ctx context.Context, home, dir string, lifetime time.Duration, memory bool) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this program to start the baseline server: %w", err)
	}
	cmd := exec.Command(self, "-fileserver", dir, "-lifetime", lifetime.String(), "-memory="+strconv.FormatBool(memory))
	cmd.Env = childEnv(home)
	return startChild(ctx, nameFileserver, cmd)
}

// fileServerMain is the hidden -fileserver mode: http.FileServer over a
// directory on 127.0.0.1:0, configured like gofailover's http.Server, or
// with -memory a handler serving the directory's files from memory (read
// once at start) with http.ServeContent over a bytes.Reader. It
// prints "fileserver listening addr=HOST:PORT" and serves until its
// standard input closes (the parent went away), SIGTERM or SIGINT, or the
// lifetime passes.
func fileServerMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gofailover-load -fileserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("fileserver", "", "directory to serve")
	lifetime := fs.Duration("lifetime", 10*time.Minute, "exit after this long")
	memory := fs.Bool("memory", false, "serve the files from memory")
	if err := fs.Parse(args); err != nil || *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: gofailover-load -fileserver DIR [-lifetime D] [-memory]")
		return exitUsage
	}
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "fileserver: %s is not a directory\n", *dir)
		return exitUsage
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "fileserver: %v\n", err)
		return exitBroken
	}
	handler := http.FileServer(http.Dir(*dir))
	if *memory {
		if handler, err = newMemoryHandler(*dir); err != nil {
			fmt.Fprintf(stderr, "fileserver: %v\n", err)
			return exitBroken
		}
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	fmt.Fprintf(stdout, "fileserver listening addr=%s dir=%s memory=%t\n", ln.Addr(), *dir, *memory)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	stdinClosed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case err := <-served:
		fmt.Fprintf(stderr, "fileserver: %v\n", err)
		return exitBroken
	case <-stdinClosed:
	case <-sig:
	case <-time.After(*lifetime):
		fmt.Fprintln(stderr, "fileserver: lifetime over")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(stderr, "fileserver: shutdown: %v\n", err)
	}
	return exitPass
}

// memoryHandler serves a directory's files from memory, read once: the
// baseline of a server that does nothing but answer with bytes it holds.
type memoryHandler struct {
	files   map[string]memoryFile // by URL path
	modTime time.Time
}

// memoryFile is one file's bytes and media type.
type memoryFile struct {
	data        []byte
	contentType string
}

// newMemoryHandler reads every regular file under dir into memory.
func newMemoryHandler(dir string) (*memoryHandler, error) {
	h := &memoryHandler{files: map[string]memoryFile{}, modTime: time.Now()}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		h.files["/"+filepath.ToSlash(rel)] = memoryFile{data: data, contentType: http.DetectContentType(data)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s into memory: %w", dir, err)
	}
	return h, nil
}

// ServeHTTP answers a GET or HEAD of a file with http.ServeContent.
func (h *memoryHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := h.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	http.ServeContent(w, r, "", h.modTime, bytes.NewReader(f.data))
}
