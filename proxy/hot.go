package proxy

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/proxy/protocol"
)

// parsedMax bounds the parsed requests the handler remembers.
const parsedMax = 4096

// parsed is every Handler's memory of parsed requests: parsing depends on
// nothing but the path.
var parsed parsedPaths

// parsedPaths remembers the requests that parsed, by URL path, so that a
// path asked again (a hit, typically) is not parsed again: ParseRequest is
// a function of the path alone, and a parsed Request is only ever read.
// When full, it starts afresh.
type parsedPaths struct {
	mu sync.RWMutex
	m  map[string]*protocol.Request
}

// parse returns ParseRequest(path), remembered.
func (p *parsedPaths) parse(path string) (*protocol.Request, error) {
	p.mu.RLock()
	req := p.m[path]
	p.mu.RUnlock()
	if req != nil {
		return req, nil
	}
	req, err := protocol.ParseRequest(path)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.m == nil || len(p.m) >= parsedMax {
		p.m = make(map[string]*protocol.Request, 64)
	}
	p.m[path] = req
	p.mu.Unlock()
	return req, nil
}

// Header values shared by every answer that carries them: net/http only
// reads them (a Set or Add replaces or copies a value slice, never writes
// into it).
var (
	hitValues          = []string{cacheHit}
	immutableValues    = []string{immutableCacheControl}
	acceptRangesValues = []string{"bytes"}
	contentTypeValues  = map[string][]string{}
)

func init() {
	for _, ct := range []string{"application/json", "application/zip", "application/octet-stream", "text/plain; charset=utf-8"} {
		contentTypeValues[ct] = []string{ct}
	}
}

// headerValues returns a one-value slice of v, shared when v is common.
func headerValues(v string) []string {
	if vs, ok := contentTypeValues[v]; ok {
		return vs
	}
	return []string{v}
}

// plainRequest reports whether r asks for the whole answer
// unconditionally: no Range and no precondition, so that
// http.ServeContent would answer 200 with the whole body. The server
// canonicalises request header names, so they are looked up as such.
func plainRequest(r *http.Request) bool {
	h := r.Header
	return h["Range"] == nil && h["If-None-Match"] == nil && h["If-Modified-Since"] == nil &&
		h["If-Match"] == nil && h["If-Unmodified-Since"] == nil
}

// writeWhole answers a plain request (see plainRequest) for a 200 entry
// as http.ServeContent would, without its parsing: Last-Modified,
// Accept-Ranges and Content-Length, the status, then the whole body (none
// for HEAD). A file body goes out with the connection's ReadFrom
// (sendfile); a bytes.Reader in one Write.
func writeWhole(w http.ResponseWriter, r *http.Request, e cache.Entry, body io.ReadSeeker) {
	hdr := w.Header()
	if !e.StoredAt.IsZero() && !e.StoredAt.Equal(time.Unix(0, 0)) {
		hdr["Last-Modified"] = []string{e.StoredAt.UTC().Format(http.TimeFormat)}
	}
	hdr["Accept-Ranges"] = acceptRangesValues
	if hdr["Content-Encoding"] == nil {
		hdr["Content-Length"] = []string{strconv.FormatInt(e.Size, 10)}
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if br, ok := body.(*bytes.Reader); ok && br.Size() == e.Size {
		br.WriteTo(w)
		return
	}
	io.CopyN(w, body, e.Size)
}
