package proxy_test

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// TestHitHeadersAsServeContent: a plain hit, written without
// http.ServeContent, carries exactly the headers ServeContent gives (a
// request with a non-matching If-None-Match goes through it); HEAD, ranges
// and a matching If-None-Match behave as before, for inline answers and
// blob files alike.
func TestHitHeadersAsServeContent(t *testing.T) {
	h := pooledHandler(t)
	do := func(method, path string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	for _, path := range []string{"/example.com/lib/@v/v1.1.0.info", "/example.com/lib/@v/v1.1.0.mod", "/example.com/lib/@v/v1.1.0.zip"} {
		if w := do(http.MethodGet, path, nil); w.Code != http.StatusOK {
			t.Fatalf("warming %s: %d %s", path, w.Code, w.Body)
		}
		plain := do(http.MethodGet, path, nil)
		viaServeContent := do(http.MethodGet, path, map[string]string{"If-None-Match": `"other"`})
		if plain.Code != http.StatusOK || viaServeContent.Code != http.StatusOK || plain.Header().Get(proxy.CacheHeader) != "hit" {
			t.Fatalf("%s: %d, %d", path, plain.Code, viaServeContent.Code)
		}
		if a, b := plain.Header(), viaServeContent.Header(); !maps.EqualFunc(a, b, slices.Equal) {
			t.Errorf("%s: headers\n%v\nwant (ServeContent's)\n%v", path, a, b)
		}
		if plain.Body.String() != viaServeContent.Body.String() || plain.Body.Len() == 0 {
			t.Errorf("%s: bodies differ (%d and %d bytes)", path, plain.Body.Len(), viaServeContent.Body.Len())
		}
		body := plain.Body.String()
		head := do(http.MethodHead, path, nil)
		if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Length") != plain.Header().Get("Content-Length") {
			t.Errorf("%s: HEAD %d, %d body bytes, Content-Length %q", path, head.Code, head.Body.Len(), head.Header().Get("Content-Length"))
		}
		rng := do(http.MethodGet, path, map[string]string{"Range": "bytes=1-3"})
		if got, _ := io.ReadAll(rng.Body); rng.Code != http.StatusPartialContent || string(got) != body[1:4] {
			t.Errorf("%s: Range: %d %q, want 206 %q", path, rng.Code, got, body[1:4])
		}
		nm := do(http.MethodGet, path, map[string]string{"If-None-Match": plain.Header().Get("ETag")})
		if nm.Code != http.StatusNotModified || nm.Body.Len() != 0 {
			t.Errorf("%s: If-None-Match of its ETag: %d, %d bytes", path, nm.Code, nm.Body.Len())
		}
	}
}

// TestBlobHitOverLoopback: a zip kept in a blob file, served to a client
// on 127.0.0.1 (copied rather than sent with sendfile), arrives whole and
// exact, HEAD and ranges included.
func TestBlobHitOverLoopback(t *testing.T) {
	mod, err := mirrortest.SyntheticModule("example.com/big", "v1.0.0", 700<<10)
	if err != nil {
		t.Fatal(err)
	}
	m := mirrortest.NewMirror(nil, mod)
	t.Cleanup(m.Close)
	srv, _, _ := serveHandler(t, proxy.Config{}, m.URL())
	url := srv.URL + "/example.com/big/@v/v1.0.0.zip"
	for _, want := range []string{"miss", "hit", "hit"} {
		resp, body := do(t, http.MethodGet, url)
		if resp.StatusCode != http.StatusOK || resp.Header.Get(proxy.CacheHeader) != want || body != string(mod.Zip) {
			t.Fatalf("GET: %d %s, %d bytes; want 200 %s, %d bytes", resp.StatusCode, resp.Header.Get(proxy.CacheHeader), len(body), want, len(mod.Zip))
		}
	}
	resp, body := do(t, http.MethodHead, url)
	if resp.StatusCode != http.StatusOK || body != "" || resp.ContentLength != int64(len(mod.Zip)) {
		t.Errorf("HEAD: %d, %d bytes, length %d", resp.StatusCode, len(body), resp.ContentLength)
	}
	resp, body = do(t, http.MethodGet, url, "Range", "bytes=300000-300009")
	if resp.StatusCode != http.StatusPartialContent || body != string(mod.Zip[300000:300010]) {
		t.Errorf("Range: %d %q", resp.StatusCode, body)
	}
}

// pooledHandler serves the testdata modules from a mirror through a
// Handler whose Router is a health.Pool, as gofailover's is.
func pooledHandler(t *testing.T) *proxy.Handler {
	t.Helper()
	m := mirrortest.NewMirror(nil, mirrortest.TestdataModules(t)...)
	t.Cleanup(m.Close)
	ups, err := health.NewUpstreams([]string{m.URL()}, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	_, h, _ := serveHandler(t, proxy.Config{Router: health.NewPool(ups, health.Config{}, nil)})
	return h
}
