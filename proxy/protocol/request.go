// Package protocol owns the module proxy protocol as gofailover speaks it
// on both sides: the request paths it accepts from the go command
// (ParseRequest), the URLs it asks upstream mirrors for (URL, escaped
// exactly as the go command escapes them), and what a valid answer to each
// request looks like (CheckBody, CheckZip). It does no I/O beyond reading a
// zip file it is given.
package protocol

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/tlog"
)

// Kind is the kind of answer a request asks for.
type Kind int

// The kinds of request the proxy serves.
const (
	KindList   Kind = iota // $module/@v/list
	KindInfo               // $module/@v/$version.info
	KindMod                // $module/@v/$version.mod
	KindZip                // $module/@v/$version.zip
	KindLatest             // $module/@latest
	KindSumDB              // /sumdb/$name/...
)

// String returns the kind's name as used in logs and metrics.
func (k Kind) String() string {
	switch k {
	case KindList:
		return "list"
	case KindInfo:
		return "info"
	case KindMod:
		return "mod"
	case KindZip:
		return "zip"
	case KindLatest:
		return "latest"
	case KindSumDB:
		return "sumdb"
	}
	return "unknown"
}

// maxRequestPath bounds the request paths the parser looks at; real module
// paths and versions are far shorter.
const maxRequestPath = 2048

// Request is a parsed, validated protocol request.
type Request struct {
	// Kind is what the request asks for.
	Kind Kind
	// Path is the request path in its escaped wire form, starting with "/".
	// It is both the path sent to upstreams and the cache key.
	Path string
	// Module is the decoded module path (empty for checksum-database requests
	// other than lookups).
	Module string
	// Version is the decoded version or version query of .info, .mod and .zip
	// requests and of checksum-database lookups.
	Version string
	// Immutable reports whether the answer can never change: the .info, .mod
	// and .zip of a canonical version, a checksum-database tile or lookup.
	Immutable bool
	// SumDB is the checksum database name of KindSumDB requests.
	SumDB string
}

// RequestError is a request the proxy refuses; Status is the HTTP status to
// answer with and Reason a one-line explanation.
type RequestError struct {
	Status int
	Reason string
}

// Error returns the reason.
func (e *RequestError) Error() string { return e.Reason }

func badRequest(format string, args ...any) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Reason: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *RequestError {
	return &RequestError{Status: http.StatusNotFound, Reason: fmt.Sprintf(format, args...)}
}

// ParseRequest parses the path of a module proxy or checksum-database
// request. It returns a *RequestError for anything the proxy does not serve.
func ParseRequest(path string) (*Request, error) {
	if len(path) > maxRequestPath {
		return nil, &RequestError{Status: http.StatusRequestURITooLong, Reason: "request path too long"}
	}
	if !strings.HasPrefix(path, "/") {
		return nil, badRequest("request path must start with /")
	}
	if rest, ok := strings.CutPrefix(path, "/sumdb/"); ok {
		return parseSumDB(path, rest)
	}
	if strings.HasPrefix(path, "/@") {
		return nil, badRequest("empty module path")
	}
	escMod, endpoint, ok := strings.Cut(path[1:], "/@")
	if !ok {
		return nil, notFound("not a module proxy path: %s", path)
	}
	mod, err := module.UnescapePath(escMod)
	if err != nil {
		return nil, badRequest("invalid module path: %v", errors.Unwrap(err))
	}
	req := &Request{Path: path, Module: mod}
	switch {
	case endpoint == "v/list":
		req.Kind = KindList
		return req, nil
	case endpoint == "latest":
		req.Kind = KindLatest
		return req, nil
	case strings.HasPrefix(endpoint, "v/"):
		return parseVersionFile(req, endpoint[len("v/"):])
	}
	return nil, notFound("unknown endpoint @%s", endpoint)
}

// parseVersionFile parses the $version.{info,mod,zip} part of a request.
func parseVersionFile(req *Request, file string) (*Request, error) {
	escVer, ext, ok := cutLast(file, ".")
	if !ok {
		return nil, notFound("unknown endpoint @v/%s", file)
	}
	switch ext {
	case "info":
		req.Kind = KindInfo
	case "mod":
		req.Kind = KindMod
	case "zip":
		req.Kind = KindZip
	default:
		return nil, notFound("unknown endpoint @v/%s", file)
	}
	ver, err := module.UnescapeVersion(escVer)
	if err != nil {
		return nil, badRequest("invalid version: %v", err)
	}
	req.Version = ver
	canonical := semver.IsValid(ver) && module.CanonicalVersion(ver) == ver
	if req.Kind == KindInfo {
		// .info also answers version queries such as a branch name.
		req.Immutable = canonical
		return req, nil
	}
	if !canonical {
		return nil, badRequest("version %q is not canonical: .%s needs a canonical version", ver, ext)
	}
	if err := module.Check(req.Module, ver); err != nil {
		return nil, badRequest("%v", err)
	}
	req.Immutable = true
	return req, nil
}

// parseSumDB parses a checksum-database request, /sumdb/$name/$rest.
func parseSumDB(path, rest string) (*Request, error) {
	name, sub, ok := strings.Cut(rest, "/")
	if !ok || !validSumDBName(name) {
		return nil, notFound("not a checksum database path: %s", path)
	}
	req := &Request{Kind: KindSumDB, Path: path, SumDB: name}
	switch {
	case sub == "supported", sub == "latest":
		return req, nil
	case strings.HasPrefix(sub, "lookup/"):
		escMod, escVer, ok := strings.Cut(sub[len("lookup/"):], "@")
		if !ok {
			return nil, badRequest("checksum database lookup without @version")
		}
		mod, err := module.UnescapePath(escMod)
		if err != nil {
			return nil, badRequest("invalid module path in lookup: %v", errors.Unwrap(err))
		}
		ver, err := module.UnescapeVersion(escVer)
		if err != nil {
			return nil, badRequest("invalid version in lookup: %v", err)
		}
		if err := module.Check(mod, ver); err != nil {
			return nil, badRequest("invalid lookup: %v", err)
		}
		req.Module, req.Version, req.Immutable = mod, ver, true
		return req, nil
	case strings.HasPrefix(sub, "tile/"):
		if _, err := tlog.ParseTilePath(sub); err != nil {
			return nil, badRequest("invalid tile path: %v", err)
		}
		req.Immutable = true
		return req, nil
	}
	return nil, notFound("unknown checksum database endpoint: %s", sub)
}

// validSumDBName reports whether name can be a checksum database name: a
// host name, optionally with a port.
func validSumDBName(name string) bool {
	if name == "" || len(name) > 253 || name[0] == '.' || name[0] == '-' || strings.Contains(name, "..") {
		return false
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == ':') {
			return false
		}
	}
	return true
}

// cutLast slices s around the last instance of sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}
