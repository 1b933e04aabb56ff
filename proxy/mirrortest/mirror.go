package mirrortest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// Mirror is an upstream module proxy on 127.0.0.1 (an httptest.Server)
// speaking the GOPROXY protocol for the modules added to it and serving a
// checksum database under /sumdb/<name>/. Its behaviour can be switched to a
// Fault at run time. All methods are safe for concurrent use.
//
// Served paths (module paths and versions escaped as module.EscapePath and
// module.EscapeVersion do, e.g. example.com/!upper/!case):
//
//	GET|HEAD /<module>/@v/list                  release and prerelease versions, one a line (no pseudo-versions); 404 for an unknown module
//	GET|HEAD /<module>/@v/<version>.info|.mod|.zip
//	GET|HEAD /<module>/@latest                  .info of the highest release version; 404 if there is none
//	GET|HEAD /sumdb/<db name>/supported         200, empty body
//	GET|HEAD /sumdb/<db name>/<path>            the SumDB's Handler at /<path>
//	GET|HEAD /_moved/<path>                     as /<path>, and never faulty (see KindRedirectSameOrigin)
//
// Everything else is 404 with a short text/plain body starting "not found: ".
type Mirror struct {
	db        *SumDB
	srv       *httptest.Server
	done      chan struct{} // closed by Close: wakes blackholed, slow and trickling handlers
	closeOnce sync.Once
	trickling atomic.Int64 // trickling handlers running, for tests

	mu       sync.Mutex
	modules  map[string]map[string]*Module // path -> version -> module
	faults   []*faultState
	requests []string
}

// faultState is an installed Fault and how many requests it has affected.
type faultState struct {
	fault Fault
	used  int
}

// NewMirror starts a mirror on 127.0.0.1 serving modules and, if db is not
// nil, the database db under /sumdb/<db.Name>/. The mirror does not add the
// modules to db: a test can serve modules the database does not know.
// Call Close when done.
func NewMirror(db *SumDB, modules ...*Module) *Mirror {
	m := &Mirror{
		db:      db,
		done:    make(chan struct{}),
		modules: make(map[string]map[string]*Module),
	}
	m.Add(modules...)
	m.srv = httptest.NewServer(http.HandlerFunc(m.serveHTTP))
	return m
}

// URL returns the mirror's base URL, "http://127.0.0.1:<port>", suitable for
// GOPROXY.
func (m *Mirror) URL() string { return m.srv.URL }

// Add makes the mirror serve mods, replacing any module with the same path
// and version.
func (m *Mirror) Add(mods ...*Module) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mod := range mods {
		vs := m.modules[mod.Path]
		if vs == nil {
			vs = make(map[string]*Module)
			m.modules[mod.Path] = vs
		}
		vs[mod.Version] = mod
	}
}

// Close stops the mirror: requests in progress (blackholed, slow or
// trickling ones included) are dropped at once, mid-body if need be, Close
// waits for their handlers to return, and the port then refuses
// connections, like a dead upstream. Close may be called more than once.
func (m *Mirror) Close() {
	m.closeOnce.Do(func() {
		close(m.done)
		m.srv.CloseClientConnections()
		m.srv.Close()
	})
}

// SetFault makes the mirror behave as f from now on (Healthy() restores it).
func (m *Mirror) SetFault(f Fault) { m.SetFaults(f) }

// SetFaults installs several faults at once: each request gets the first of
// them that applies to it (see Fault.Suffix and Fault.Limit), or a correct
// answer if none does. For example, SetFaults(Slow(time.Second),
// CorruptZip()) would never corrupt anything, while
// SetFaults(CorruptZip().OnSuffix(".zip"), Slow(time.Second)) corrupts
// zips promptly and slows every other answer down.
func (m *Mirror) SetFaults(faults ...Fault) {
	states := make([]*faultState, len(faults))
	for i, f := range faults {
		states[i] = &faultState{fault: f}
	}
	m.mu.Lock()
	m.faults = states
	m.mu.Unlock()
}

// Requests returns the URL path of every request received, in order of
// arrival, in module-escaped form as the protocol puts it on the wire (e.g.
// "/example.com/!upper/!case/@v/list", "/example.com/old/@v/v3.0.0+incompatible.zip").
// Percent-encoding is undone: the go command sends "!" as "%21" on proxy
// requests (but not on checksum-database ones), and both spellings are
// recorded as "!". Requests under /_moved/ are recorded as they arrive,
// prefix included.
func (m *Mirror) Requests() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.requests...)
}

// Count returns how many requests for the URL path p (in the form Requests
// reports) were received.
func (m *Mirror) Count(p string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.requests {
		if r == p {
			n++
		}
	}
	return n
}

// ResetRequests forgets the requests received so far.
func (m *Mirror) ResetRequests() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests = nil
}

// movedPrefix starts the paths that KindRedirectSameOrigin redirects to.
const movedPrefix = "/_moved"

// isMoved reports whether the URL path p is under /_moved/.
func isMoved(p string) bool { return strings.HasPrefix(p, movedPrefix+"/") }

// arrive records a request for the URL path p and returns the fault
// that applies to it: none (Healthy) under /_moved/.
func (m *Mirror) arrive(p string) Fault {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests = append(m.requests, p)
	if isMoved(p) {
		return Healthy()
	}
	for _, st := range m.faults {
		if !st.fault.matches(p) || (st.fault.Limit > 0 && st.used >= st.fault.Limit) {
			continue
		}
		st.used++
		return st.fault
	}
	return Healthy()
}

// response is an answer built before a fault decides how to send it.
type response struct {
	status int
	header http.Header
	body   []byte
}

// textResponse returns a text/plain answer.
func textResponse(status int, body string) response {
	h := make(http.Header)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	return response{status: status, header: h, body: []byte(body)}
}

// notFound returns the mirror's 404 answer.
func notFound(format string, args ...any) response {
	return textResponse(http.StatusNotFound, "not found: "+fmt.Sprintf(format, args...)+"\n")
}

// unmoved returns r for the path without its /_moved prefixes (all of
// them: /_moved/_moved/<path> is /_moved/<path>, which is /<path>).
func unmoved(r *http.Request) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	for isMoved(u.Path) {
		u.Path = strings.TrimPrefix(u.Path, movedPrefix)
	}
	u.RawPath = ""
	r2.URL = &u
	return r2
}

// serveHTTP is the mirror's handler.
func (m *Mirror) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	f := m.arrive(p)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeResponse(w, r, textResponse(http.StatusMethodNotAllowed, "method not allowed\n"))
		return
	}
	if isMoved(p) {
		r = unmoved(r)
		p = r.URL.Path
	}
	switch f.Kind {
	case KindHTML:
		resp := response{status: http.StatusOK, header: make(http.Header), body: []byte(CaptivePortalPage)}
		resp.header.Set("Content-Type", "text/html; charset=utf-8")
		resp.header.Set("Cache-Control", "no-store")
		writeResponse(w, r, resp)
		return
	case KindRedirect, KindRedirectSameOrigin:
		base := f.Base
		if f.Kind == KindRedirectSameOrigin {
			base = movedPrefix
		}
		loc := base + r.URL.EscapedPath()
		resp := textResponse(http.StatusFound, "mirrortest: injected fault: moved to "+loc+"\n")
		resp.header.Set("Location", loc)
		writeResponse(w, r, resp)
		return
	case KindStatus:
		writeResponse(w, r, textResponse(f.Code, fmt.Sprintf("mirrortest: injected fault: status %d\n", f.Code)))
		return
	case KindRateLimited:
		resp := textResponse(http.StatusTooManyRequests, "mirrortest: injected fault: rate limited\n")
		secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
		resp.header.Set("Retry-After", strconv.FormatInt(max(secs, 0), 10))
		writeResponse(w, r, resp)
		return
	case KindBlackhole:
		select {
		case <-r.Context().Done():
		case <-m.done:
		}
		panic(http.ErrAbortHandler) // drop the connection without an answer
	case KindSlow:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		m.await(r, t)
	}

	resp := m.respond(r, f.Kind == KindStaleList)
	switch f.Kind {
	case KindTruncate:
		resp.body = resp.body[:len(resp.body)/2]
	case KindCorruptZip:
		if strings.HasSuffix(p, ".zip") && resp.status == http.StatusOK && len(resp.body) > 0 {
			resp.body = bytes.Clone(resp.body)
			resp.body[len(resp.body)/2] ^= 0xff
		}
	case KindTamper:
		if resp.status == http.StatusOK && strings.HasSuffix(p, ".mod") {
			resp.body = append(bytes.Clone(resp.body), "// tampered by mirrortest\n"...)
		}
		if resp.status == http.StatusOK && strings.HasSuffix(p, ".zip") {
			if body, err := tamperZip(resp.body); err == nil {
				resp.body = body
			}
		}
	case KindFlipContent:
		if resp.status == http.StatusOK && strings.HasSuffix(p, ".zip") {
			if body, err := flipZipContent(resp.body); err == nil {
				resp.body = body
			}
		}
	case KindWrongVersionInfo:
		if resp.status == http.StatusOK && !strings.HasPrefix(p, "/sumdb/") &&
			(strings.HasSuffix(p, ".info") || strings.HasSuffix(p, "/@latest")) {
			if body, err := replaceInfoVersion(resp.body, f.Version); err == nil {
				resp.body = body
			}
		}
	case KindResetMidBody:
		m.resetMidBody(w, r, resp)
		return
	case KindTrickle:
		m.trickle(w, r, resp, f.BytesPerSecond)
		return
	}
	writeResponse(w, r, resp)
}

// replaceInfoVersion returns a copy of the .info JSON object info with its
// "Version" member set to version (added at the end if there is none); the
// other members are kept as they are, in order.
func replaceInfoVersion(info []byte, version string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(info))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("info is not a JSON object: %q", info)
	}
	newVersion, err := json.Marshal(version)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteByte('{')
	replaced := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("info is not a JSON object: %q", info)
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err
		}
		if key == "Version" {
			val, replaced = newVersion, true
		}
		if out.Len() > 1 {
			out.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteByte(':')
		out.Write(val)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if !replaced {
		if out.Len() > 1 {
			out.WriteByte(',')
		}
		out.WriteString(`"Version":`)
		out.Write(newVersion)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// trickleChunksPerSecond is how many writes a second KindTrickle makes at
// most: rates of at least that many bytes a second are sent in chunks of
// rate/trickleChunksPerSecond bytes, lower ones a byte at a time.
const trickleChunksPerSecond = 20

// trickle sends resp's status and headers (full Content-Length) at once,
// then its body at about rate bytes a second, each chunk flushed. It drops
// the connection as soon as the client's request context is done or the
// mirror is closed.
func (m *Mirror) trickle(w http.ResponseWriter, r *http.Request, resp response, rate int) {
	m.trickling.Add(1)
	defer m.trickling.Add(-1)
	rate = max(rate, 1)
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		panic(http.ErrAbortHandler)
	}
	if r.Method == http.MethodHead {
		return
	}
	chunk := max(rate/trickleChunksPerSecond, 1)
	start := time.Now()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for sent := 0; sent < len(resp.body); {
		n := min(chunk, len(resp.body)-sent)
		// Each chunk goes when the rate allows its last byte: the body is
		// complete len/rate after the header.
		due := start.Add(time.Duration(sent+n) * time.Second / time.Duration(rate))
		t.Reset(time.Until(due))
		m.await(r, t)
		if _, err := w.Write(resp.body[sent : sent+n]); err != nil {
			panic(http.ErrAbortHandler)
		}
		if err := rc.Flush(); err != nil {
			panic(http.ErrAbortHandler)
		}
		sent += n
	}
}

// tamperZip returns a copy of the module zip data with one more file,
// <module>@<version>/mirrortest-tampered.txt.
func tamperZip(data []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	if len(zr.File) == 0 {
		return nil, errors.New("empty zip")
	}
	name := zr.File[0].Name
	at := strings.Index(name, "@")
	slash := strings.Index(name[max(at, 0):], "/")
	if at < 0 || slash < 0 {
		return nil, fmt.Errorf("zip entry %q is not in a module@version directory", name)
	}
	prefix := name[:at+slash+1]
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			return nil, err
		}
	}
	fw, err := zw.Create(prefix + "mirrortest-tampered.txt")
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(fw, "tampered by mirrortest\n"); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// flipZipContent returns a copy of the module zip data in which one byte in
// the middle of one file's content is changed: the largest file other than
// go.mod (go.mod if it is the only one with content). The other entries are
// copied as they are, and the changed one is written anew, so the result is
// a well-formed zip with correct CRCs and sizes, whose hash differs.
func flipZipContent(data []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	pick := -1
	for i, f := range zr.File {
		if f.UncompressedSize64 == 0 {
			continue
		}
		isMod := strings.HasSuffix(f.Name, "/go.mod")
		switch {
		case pick < 0:
			pick = i
		case strings.HasSuffix(zr.File[pick].Name, "/go.mod") && !isMod:
			pick = i
		case !isMod && f.UncompressedSize64 > zr.File[pick].UncompressedSize64:
			pick = i
		}
	}
	if pick < 0 {
		return nil, errors.New("no file with content in the zip")
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for i, f := range zr.File {
		if i != pick {
			if err := zw.Copy(f); err != nil {
				return nil, err
			}
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		content, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		content[len(content)/2] ^= 0x01
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: f.Method, Modified: f.Modified})
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(content); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// writeResponse sends resp with an exact Content-Length.
func writeResponse(w http.ResponseWriter, r *http.Request, resp response) {
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		w.Write(resp.body)
	}
}

// resetMidBody sends resp's status, headers (full Content-Length) and half of
// its body on the raw connection, then resets the connection.
func (m *Mirror) resetMidBody(w http.ResponseWriter, r *http.Request, resp response) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer func() {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // best effort: a plain close still breaks the body
		}
		conn.Close()
	}()
	if len(resp.body) == 0 {
		return
	}
	h := resp.header.Clone()
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", resp.status, http.StatusText(resp.status))
	h.Write(buf) // write errors surface at Flush
	buf.WriteString("\r\n")
	if r.Method != http.MethodHead {
		buf.Write(resp.body[:len(resp.body)/2])
	}
	if err := buf.Flush(); err != nil {
		return
	}
	// Give the loopback peer a moment to take in what was sent: a reset
	// discards data still queued in the sending kernel.
	select {
	case <-time.After(20 * time.Millisecond):
	case <-m.done:
	}
}

// respond builds the correct answer to r; stale hides each module's newest
// version from @v/list and @latest.
func (m *Mirror) respond(r *http.Request, stale bool) response {
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/sumdb/"); ok {
		return m.respondSumDB(r, rest)
	}
	p = strings.TrimPrefix(p, "/")
	var escPath, file string
	if before, ok := strings.CutSuffix(p, "/@latest"); ok {
		escPath, file = before, "@latest"
	} else if i := strings.LastIndex(p, "/@v/"); i >= 0 {
		escPath, file = p[:i], p[i+len("/@v/"):]
	} else {
		return notFound("%s", r.URL.Path)
	}
	modPath, err := module.UnescapePath(escPath)
	if err != nil {
		return notFound("invalid module path %q", escPath)
	}
	m.mu.Lock()
	versions := make(map[string]*Module, len(m.modules[modPath]))
	for v, mod := range m.modules[modPath] {
		versions[v] = mod
	}
	m.mu.Unlock()
	if len(versions) == 0 {
		return notFound("module %s: unknown module", modPath)
	}

	switch file {
	case "list", "@latest":
		var list []string
		for v := range versions {
			if !module.IsPseudoVersion(v) {
				list = append(list, v)
			}
		}
		semver.Sort(list)
		if stale && len(list) > 0 {
			list = list[:len(list)-1]
		}
		if file == "list" {
			var b strings.Builder
			for _, v := range list {
				b.WriteString(v + "\n")
			}
			return textResponse(http.StatusOK, b.String())
		}
		for i := len(list) - 1; i >= 0; i-- {
			if semver.Prerelease(list[i]) == "" {
				return infoResponse(versions[list[i]].Info)
			}
		}
		return notFound("module %s: no release version", modPath)
	}

	var ext string
	for _, e := range []string{".info", ".mod", ".zip"} {
		if strings.HasSuffix(file, e) {
			ext = e
		}
	}
	if ext == "" {
		return notFound("%s", r.URL.Path)
	}
	version, err := module.UnescapeVersion(strings.TrimSuffix(file, ext))
	if err != nil {
		return notFound("invalid version %q", strings.TrimSuffix(file, ext))
	}
	mod := versions[version]
	if mod == nil {
		return notFound("%s@%s: unknown version", modPath, version)
	}
	switch ext {
	case ".info":
		return infoResponse(mod.Info)
	case ".mod":
		return textResponse(http.StatusOK, string(mod.Mod))
	default:
		h := make(http.Header)
		h.Set("Content-Type", "application/zip")
		return response{status: http.StatusOK, header: h, body: mod.Zip}
	}
}

// infoResponse returns a .info or @latest answer.
func infoResponse(info []byte) response {
	h := make(http.Header)
	h.Set("Content-Type", "application/json")
	return response{status: http.StatusOK, header: h, body: info}
}

// respondSumDB answers /sumdb/<rest>.
func (m *Mirror) respondSumDB(r *http.Request, rest string) response {
	name, sub, _ := strings.Cut(rest, "/")
	if m.db == nil || name != m.db.Name {
		return notFound("checksum database %q", name)
	}
	if sub == "supported" {
		return textResponse(http.StatusOK, "")
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + sub
	r2.URL.RawPath = ""
	rec := httptest.NewRecorder()
	m.db.Handler().ServeHTTP(rec, r2)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// await waits for t to fire; when the client goes away or the Mirror
// closes first, it drops the connection without an answer.
func (m *Mirror) await(r *http.Request, t *time.Timer) {
	select {
	case <-t.C:
	case <-r.Context().Done():
		panic(http.ErrAbortHandler)
	case <-m.done:
		panic(http.ErrAbortHandler)
	}
}
