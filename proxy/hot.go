package proxy

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/proxy/protocol"
)

// parsedMax bounds the parsed requests the handler remembers.
const parsedMax = 4096

// hitPath is what a Handler keeps to answer hits with less work: parsed
// request paths, formatted times, copy buffers. The Handler owns one;
// none is shared between Handlers.
type hitPath struct {
	parsed parsedPaths
	// times remembers recently formatted times, by second: the answers
	// asked most are formatted once.
	times [256]atomic.Pointer[formattedTime]
	// bufs holds the buffers of copyFile.
	bufs sync.Pool
	// headers remembers the header values of the answers served lately,
	// by key (see entryHeaders).
	headers entryHeaderMemo
}

// entryHeaders are the header values an answer carries that depend on
// its entry alone, made once: an answer asked again is served without
// making them again.
type entryHeaders struct {
	sum      [32]byte
	storedAt int64 // Unix nanoseconds
	size     int64
	etag     []string
	length   []string
	modified []string // nil: no Last-Modified
}

// entryHeaderMemo remembers entryHeaders by key; when full it starts
// afresh. The slices are only ever read once made.
type entryHeaderMemo struct {
	mu sync.RWMutex
	m  map[string]*entryHeaders
}

// entryHeaderMax bounds an entryHeaderMemo.
const entryHeaderMax = 4096

// entryHeaders returns e's header values, remembered.
func (hp *hitPath) entryHeaders(e cache.Entry) *entryHeaders {
	memo := &hp.headers
	memo.mu.RLock()
	h := memo.m[e.Key]
	memo.mu.RUnlock()
	if h != nil && h.sum == e.SHA256 && h.storedAt == e.StoredAt.UnixNano() && h.size == e.Size {
		return h
	}
	h = &entryHeaders{sum: e.SHA256, storedAt: e.StoredAt.UnixNano(), size: e.Size,
		etag: []string{e.ETag()}, length: []string{strconv.FormatInt(e.Size, 10)}}
	if !e.StoredAt.IsZero() && !e.StoredAt.Equal(time.Unix(0, 0)) {
		h.modified = []string{hp.httpTime(e.StoredAt)}
	}
	memo.mu.Lock()
	if memo.m == nil || len(memo.m) >= entryHeaderMax {
		memo.m = make(map[string]*entryHeaders, 64)
	}
	memo.m[e.Key] = h
	memo.mu.Unlock()
	return h
}

// parsedPaths remembers the requests that parsed, by URL path, so that a
// path asked again (a hit, typically) is not parsed again: ParseRequest is
// a function of the path alone, and a parsed Request is only ever read.
// When full, it starts afresh.
type parsedPaths struct {
	mu sync.RWMutex
	m  map[string]*protocol.Request
}

// parse returns ParseRequest(path), remembered.
func (hp *hitPath) parse(path string) (*protocol.Request, error) { return hp.parsed.parse(path) }

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
	jsonValues         = []string{"application/json"}
	zipValues          = []string{"application/zip"}
	octetValues        = []string{"application/octet-stream"}
	textValues         = []string{"text/plain; charset=utf-8"}
)

// headerValues returns a one-value slice of v, shared when v is a common
// content type.
func headerValues(v string) []string {
	switch v {
	case jsonValues[0]:
		return jsonValues
	case zipValues[0]:
		return zipValues
	case octetValues[0]:
		return octetValues
	case textValues[0]:
		return textValues
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
// for HEAD). A bytes.Reader goes out in one Write; a file body with the
// connection's ReadFrom (sendfile), or to a client on the same machine
// with copyFile.
func (hp *hitPath) writeWhole(w http.ResponseWriter, r *http.Request, e cache.Entry, eh *entryHeaders, body io.ReadSeeker) {
	hdr := w.Header()
	if eh.modified != nil {
		hdr["Last-Modified"] = eh.modified
	}
	hdr["Accept-Ranges"] = acceptRangesValues
	if hdr["Content-Encoding"] == nil {
		hdr["Content-Length"] = eh.length
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if br, ok := body.(*bytes.Reader); ok && br.Size() == e.Size {
		br.WriteTo(w)
		return
	}
	if f, ok := body.(*os.File); ok && loopback(r) {
		hp.copyFile(w, f, e.Size)
		return
	}
	io.CopyN(w, body, e.Size)
}

// formattedTime is a time in whole seconds and its HTTP form.
type formattedTime struct {
	sec int64
	s   string
}

// httpTime returns t in the HTTP date format (http.TimeFormat), which
// keeps whole seconds.
func (hp *hitPath) httpTime(t time.Time) string {
	sec := t.Unix()
	slot := &hp.times[uint64(sec)%uint64(len(hp.times))]
	if f := slot.Load(); f != nil && f.sec == sec {
		return f.s
	}
	s := t.UTC().Format(http.TimeFormat)
	slot.Store(&formattedTime{sec: sec, s: s})
	return s
}

// copyBufSize is the buffer a blob file is copied through to a client on
// the same machine: one write timeout's worth (clientlimit.WriteChunk).
const copyBufSize = 256 << 10

// copyFile writes size bytes of f to w through a pooled buffer, with
// read and write rather than sendfile. To a client on the same machine
// (the usual set-up: the go command and gofailover on one laptop) this is
// the faster way: the kernel then hands the client data in the large
// pages a write fills, where sendfile hands it the file's page-cache
// pages, which cost the client more to take. Measured with
// cmd/gofailover-load, 32 clients, a 1.9 MiB zip: about 20% more MiB/s
// than sendfile. Over a network, sendfile (ReadFrom) stays.
func (hp *hitPath) copyFile(w http.ResponseWriter, f *os.File, size int64) {
	bp, ok := hp.bufs.Get().(*[]byte)
	if !ok {
		b := make([]byte, copyBufSize)
		bp = &b
	}
	defer hp.bufs.Put(bp)
	io.CopyBuffer(writerOnly{w}, io.LimitReader(f, size), *bp)
}

// writerOnly hides a writer's ReadFrom, so that io.CopyBuffer writes.
type writerOnly struct{ io.Writer }

// loopback reports whether r came in on a loopback address.
func loopback(r *http.Request) bool {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	return ok && a.IP.IsLoopback()
}
