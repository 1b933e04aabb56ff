package main

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// defaultUpstreams derives the upstream list from the go command's GOPROXY,
// dropping "direct", "off" and entries that point at this server (listen).
// When GOPROXY names nothing but this server, as it does after the README's
// `go env -w GOPROXY=http://127.0.0.1:3131`, the go command's built-in
// default list is used instead.
func defaultUpstreams(listen string, goEnv goEnvFunc) ([]string, error) {
	raw, err := goEnv("GOPROXY", false)
	if err != nil {
		return nil, fmt.Errorf("reading the go command's GOPROXY failed: %w", err)
	}
	list, onlySelf := filterGoProxy(raw, listen)
	if len(list) == 0 && onlySelf {
		if raw, err = goEnv("GOPROXY", true); err == nil {
			list, _ = filterGoProxy(raw, listen)
		}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("the go command's GOPROXY (%q) names no usable mirror", raw)
	}
	return list, nil
}

// filterGoProxy splits a GOPROXY value and keeps the mirror URLs that are not
// this server. onlySelf reports that every mirror it named was this server.
func filterGoProxy(goproxy, listen string) (list []string, onlySelf bool) {
	selfSeen := false
	for _, entry := range strings.FieldsFunc(goproxy, func(r rune) bool { return r == ',' || r == '|' }) {
		entry = strings.TrimSpace(entry)
		switch entry {
		case "", "direct", "off", "noproxy":
			continue
		}
		if pointsAt(entry, listen) {
			selfSeen = true
			continue
		}
		list = append(list, entry)
	}
	return list, selfSeen && len(list) == 0
}

// filterUpstreams reads a GOFAILOVER_UPSTREAMS list as a pasted `go env
// GOPROXY` value: entries are split at "|" as at ",", and those that name
// no mirror (direct, off, and this server, listening on listen) are
// dropped. It returns the mirrors and the dropped entries, in order.
func filterUpstreams(entries []string, listen string) (mirrors, dropped []string) {
	for _, e := range entries {
		for f := range strings.SplitSeq(e, "|") {
			f = strings.TrimSpace(f)
			switch {
			case f == "":
			case f == "direct" || f == "off" || f == "noproxy" || pointsAt(f, listen):
				dropped = append(dropped, f)
			default:
				mirrors = append(mirrors, f)
			}
		}
	}
	return mirrors, dropped
}

// pointsAt reports whether the proxy URL entry addresses the server listening
// on listen.
func pointsAt(entry, listen string) bool {
	u, err := url.Parse(entry)
	if err != nil || u.Host == "" {
		return false
	}
	lhost, lport, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if port != lport {
		return false
	}
	host := u.Hostname()
	if host == lhost || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	if ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return true
	}
	if lip := net.ParseIP(lhost); lhost == "" || lip != nil && lip.IsUnspecified() {
		name, _ := os.Hostname()
		return host == name
	}
	return false
}

// goEnvFunc reads one of the go command's settings; with builtin, its
// built-in default rather than the user's value. goCommandEnv is the real
// one.
type goEnvFunc func(key string, builtin bool) (string, error)

// builtinSumDB, when set at link time (-ldflags -X main.builtinSumDB=...),
// is the default checksum database as name+key. Builds without a go command
// at run time, such as the container image, set it.
var builtinSumDB string

// defaultSumDB returns the go command's checksum database setting.
func defaultSumDB(goEnv goEnvFunc) (string, error) {
	if builtinSumDB != "" {
		return builtinSumDB, nil
	}
	v, err := goEnv("GOSUMDB", false)
	if err != nil {
		return "", fmt.Errorf("reading the go command's GOSUMDB failed: %w", err)
	}
	return v, nil
}

// knownSumDBKeys returns the checksum database keys the go command knows
// (it keeps them in $GOROOT/src/cmd/go/internal/modfetch/key.go, which
// golang.org/x/mod does not export), so that a bare database name can be
// used as the go command uses it. It returns nil when they cannot be read.
func knownSumDBKeys(goEnv goEnvFunc) map[string]string {
	goroot, err := goEnv("GOROOT", false)
	if err != nil || goroot == "" {
		return nil
	}
	file := filepath.Join(goroot, "src", "cmd", "go", "internal", "modfetch", "key.go")
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		return nil
	}
	keys := make(map[string]string)
	ast.Inspect(f, func(n ast.Node) bool {
		kv, ok := n.(*ast.KeyValueExpr)
		if !ok {
			return true
		}
		k, kok := kv.Key.(*ast.BasicLit)
		v, vok := kv.Value.(*ast.BasicLit)
		if kok && vok && k.Kind == token.STRING && v.Kind == token.STRING {
			name, err1 := strconv.Unquote(k.Value)
			key, err2 := strconv.Unquote(v.Value)
			if err1 == nil && err2 == nil {
				keys[name] = key
			}
		}
		return true
	})
	return keys
}

// goCommandEnv runs `go env key`. With builtin it reads the go command's
// built-in default, ignoring the environment variable and the go env file.
func goCommandEnv(key string, builtin bool) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		// No go command (as in the container image): the variable itself is
		// the only source.
		if v := os.Getenv(key); v != "" && !builtin {
			return v, nil
		}
		return "", fmt.Errorf("no go command to read %s from: %w", key, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, "env", key)
	if builtin {
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, key+"=") && !strings.HasPrefix(kv, "GOENV=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "GOENV=off")
	}
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("go env %s: %w: %s", key, err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("go env %s: %w", key, err)
	}
	return strings.TrimSpace(string(out)), nil
}
