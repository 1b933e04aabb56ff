package mirrortest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// noFollow returns a real client that does not follow redirects.
func noFollow() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// getNoFollow GETs url without following redirects.
func getNoFollow(t *testing.T, url string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := noFollow().Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: body, err: err}
}

// waitFor polls cond every millisecond until it holds, for at most limit,
// and returns how long that took and whether it held.
func waitFor(limit time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start), true
}

func TestHTML(t *testing.T) {
	mods, _, m := setup(t)
	lib11 := Lookup(mods, "example.com/lib", "v1.1.0")
	m.SetFault(HTML().OnPrefix("/example.com/lib/").OnSuffix("/@v/list"))

	r := get(t, m.URL()+"/example.com/lib/@v/list")
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("HTML list: %d, %v", r.status, r.err)
	}
	if mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type")); err != nil || mt != "text/html" {
		t.Errorf("HTML Content-Type = %q", r.header.Get("Content-Type"))
	}
	if string(r.body) != CaptivePortalPage || r.header.Get("Content-Length") != strconv.Itoa(len(CaptivePortalPage)) {
		t.Errorf("HTML body = %q, Content-Length %q", r.body, r.header.Get("Content-Length"))
	}
	if !bytes.HasPrefix(r.body, []byte("<!DOCTYPE html><html>")) || !bytes.Contains(bytes.ToLower(r.body), []byte("sign in")) ||
		!bytes.HasSuffix(bytes.TrimSpace(r.body), []byte("</html>")) {
		t.Errorf("HTML body is not a sign-in page: %q", r.body)
	}

	// example.com/lib/v2's list is under the prefix too; outside the prefix
	// and suffix, answers are correct.
	if r := get(t, m.URL()+"/example.com/lib/v2/@v/list"); r.status != 200 || string(r.body) != CaptivePortalPage {
		t.Errorf("lib/v2 list: %d %q", r.status, r.body)
	}
	if r := get(t, m.URL()+"/example.com/util/@v/list"); r.status != 200 || string(r.body) != "v1.0.0\n" {
		t.Errorf("util list under a lib fault: %d %q", r.status, r.body)
	}
	if r := get(t, m.URL()+"/example.com/lib/@v/v1.1.0.info"); r.status != 200 || !bytes.Equal(r.body, lib11.Info) {
		t.Errorf("lib .info under a list fault: %d %q", r.status, r.body)
	}

	// Unnarrowed, every answer is the page: zips, 404s, the database.
	m.SetFault(HTML())
	for _, p := range []string{"/example.com/lib/@v/v1.1.0.zip", "/nothing", "/sumdb/" + dbName + "/supported", "/example.com/lib/@latest"} {
		if r := get(t, m.URL()+p); r.status != 200 || string(r.body) != CaptivePortalPage || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("HTML(): %s answered %d %q %.40q", p, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
	if r := do(t, http.MethodHead, m.URL()+"/example.com/lib/@v/v1.1.0.zip"); r.status != 200 || len(r.body) != 0 ||
		r.header.Get("Content-Length") != strconv.Itoa(len(CaptivePortalPage)) {
		t.Errorf("HTML() HEAD: %d, %d bytes, Content-Length %q", r.status, len(r.body), r.header.Get("Content-Length"))
	}
}

func TestTrickle(t *testing.T) {
	mods, _, m := setup(t)
	lib11 := Lookup(mods, "example.com/lib", "v1.1.0")
	listURL := m.URL() + "/example.com/lib/@v/list"
	const list = "v1.0.0\nv1.1.0\n"

	t.Run("Rate", func(t *testing.T) {
		const rate = 20
		m.SetFault(Trickle(rate).OnSuffix("/@v/list"))
		want := time.Duration(len(list)) * time.Second / rate // 700ms

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, listURL, nil)
		start := time.Now()
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		headerAfter := time.Since(start)
		if resp.StatusCode != 200 || resp.ContentLength != int64(len(list)) {
			t.Errorf("status %d, Content-Length %d, want 200, %d", resp.StatusCode, resp.ContentLength, len(list))
		}
		if headerAfter > want/2 {
			t.Errorf("header took %v: not sent at once", headerAfter)
		}
		// Read as it comes, noting what had arrived halfway.
		var body []byte
		var reads int
		half := -1
		buf := make([]byte, 64)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				reads++
				body = append(body, buf[:n]...)
			}
			if half < 0 && time.Since(start) >= want/2 {
				half = len(body)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("reading: %v after %d bytes", err, len(body))
			}
		}
		took := time.Since(start)
		t.Logf("Trickle(%d): header after %v, %d bytes in %d reads, %d by half time, all after %v (want about %v)",
			rate, headerAfter, len(body), reads, half, took, want)
		if string(body) != list {
			t.Errorf("body = %q, want %q", body, list)
		}
		if took < want*8/10 || took > want+3*time.Second {
			t.Errorf("body took %v, want about %v", took, want)
		}
		if reads < 3 || half >= len(list) {
			t.Errorf("body arrived in %d reads, %d bytes by half time: not trickled", reads, half)
		}

		// Other requests are unaffected, and HEAD gets the headers at once.
		start = time.Now()
		if r := get(t, m.URL()+"/example.com/lib/@v/v1.1.0.zip"); r.status != 200 || !bytes.Equal(r.body, lib11.Zip) || time.Since(start) > want/2 {
			t.Errorf("zip under a list fault: %d, %d bytes, after %v", r.status, len(r.body), time.Since(start))
		}
		start = time.Now()
		if r := do(t, http.MethodHead, listURL); r.status != 200 || r.header.Get("Content-Length") != strconv.Itoa(len(list)) || time.Since(start) > want/2 {
			t.Errorf("HEAD: %d, Content-Length %q, after %v", r.status, r.header.Get("Content-Length"), time.Since(start))
		}
	})

	t.Run("FastRateWholeZip", func(t *testing.T) {
		rate := len(lib11.Zip) * 4 // a quarter of a second
		m.SetFault(Trickle(rate))
		start := time.Now()
		r := get(t, m.URL()+"/example.com/lib/@v/v1.1.0.zip")
		took := time.Since(start)
		if r.err != nil || r.status != 200 || !bytes.Equal(r.body, lib11.Zip) || r.header.Get("Content-Type") != "application/zip" {
			t.Errorf("Trickle zip: %d %q, %d bytes, %v", r.status, r.header.Get("Content-Type"), len(r.body), r.err)
		}
		if took < 200*time.Millisecond || took > 3*time.Second {
			t.Errorf("Trickle(%d) of %d bytes took %v, want about 250ms", rate, len(lib11.Zip), took)
		}
		if r := get(t, m.URL()+"/nothing"); r.status != 404 || !bytes.HasPrefix(r.body, []byte("not found: ")) {
			t.Errorf("Trickle 404: %d %q", r.status, r.body)
		}
	})

	t.Run("ClientGivesUp", func(t *testing.T) {
		m.SetFault(Trickle(20))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.URL()+"/example.com/lib/@v/v1.1.0.zip", nil)
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.ContentLength != int64(len(lib11.Zip)) {
			t.Errorf("Content-Length %d, want %d", resp.ContentLength, len(lib11.Zip))
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 2)); err != nil {
			t.Fatal(err)
		}
		if n := m.trickling.Load(); n != 1 {
			t.Fatalf("%d trickling handlers, want 1", n)
		}
		cancel()
		took, ok := waitFor(5*time.Second, func() bool { return m.trickling.Load() == 0 })
		t.Logf("handler stopped %v after the client gave up", took)
		if !ok || took > 500*time.Millisecond {
			t.Errorf("handler still trickling %v after the client gave up", took)
		}
	})

	t.Run("ZeroRate", func(t *testing.T) {
		if f := Trickle(0); f.BytesPerSecond != 0 || f.String() != "Trickle(0)" {
			t.Errorf("Trickle(0) = %+v", f)
		}
		m.SetFault(Trickle(0)) // counts as 1 B/s: the first byte after a second
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		r := doCtx(t, ctx, http.MethodGet, listURL)
		if r.status != 200 || len(r.body) != 0 || !errors.Is(r.err, context.DeadlineExceeded) {
			t.Errorf("Trickle(0): %d, %q, %v", r.status, r.body, r.err)
		}
		if _, ok := waitFor(5*time.Second, func() bool { return m.trickling.Load() == 0 }); !ok {
			t.Error("Trickle(0) handler still running")
		}
	})
}

func TestCloseEndsTrickle(t *testing.T) {
	mods := fixtures(t)
	lib11 := Lookup(mods, "example.com/lib", "v1.1.0")
	m := NewMirror(nil, mods...)
	m.SetFault(Trickle(1))
	headers := make(chan int64, 1)
	errc := make(chan error, 1)
	go func() {
		// No client deadline: only Close can end this request.
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get(m.URL() + "/example.com/lib/@v/v1.1.0.zip")
		if err != nil {
			headers <- -1
			errc <- err
			return
		}
		defer resp.Body.Close()
		headers <- resp.ContentLength
		_, err = io.ReadAll(resp.Body)
		errc <- err
	}()
	select {
	case cl := <-headers:
		if cl != int64(len(lib11.Zip)) {
			t.Fatalf("Content-Length %d, want %d", cl, len(lib11.Zip))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("trickled headers never arrived")
	}
	start := time.Now()
	closed := make(chan struct{})
	go func() { m.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return: trickling handler leaked")
	}
	t.Logf("Close returned after %v", time.Since(start))
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with a trickling handler", d)
	}
	if n := m.trickling.Load(); n != 0 {
		t.Errorf("%d trickling handlers after Close", n)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("trickled body completed after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("trickled client still reading after Close")
	}
}

func TestRedirect(t *testing.T) {
	mods, db, m := setup(t)
	lib11 := Lookup(mods, "example.com/lib", "v1.1.0")
	other := NewMirror(db, mods...)
	t.Cleanup(other.Close)
	m.SetFault(Redirect(other.URL()))

	zipPath := "/example.com/lib/@v/v1.1.0.zip"
	r := getNoFollow(t, m.URL()+zipPath)
	if r.status != http.StatusFound || r.header.Get("Location") != other.URL()+zipPath {
		t.Errorf("Redirect: %d, Location %q, want 302 %q", r.status, r.header.Get("Location"), other.URL()+zipPath)
	}
	if r.header.Get("Content-Length") != strconv.Itoa(len(r.body)) {
		t.Errorf("Redirect: Content-Length %q for %d bytes", r.header.Get("Content-Length"), len(r.body))
	}
	if other.Count(zipPath) != 0 {
		t.Error("other mirror reached without following")
	}

	// A client that follows gets the other mirror's answer.
	if r := get(t, m.URL()+zipPath); r.status != 200 || !bytes.Equal(r.body, lib11.Zip) {
		t.Errorf("followed Redirect: %d, %d bytes", r.status, len(r.body))
	}
	if m.Count(zipPath) != 2 || other.Count(zipPath) != 1 {
		t.Errorf("Count: %d here, %d there; want 2, 1", m.Count(zipPath), other.Count(zipPath))
	}

	// The path is passed on as received: percent-encoding and all.
	for _, tt := range []struct{ sent, location string }{
		{"/example.com/%21upper/%21case/@v/list", "/example.com/%21upper/%21case/@v/list"},
		{"/example.com/!upper/!case/@v/list", "/example.com/!upper/!case/@v/list"},
		{"/sumdb/" + dbName + "/supported", "/sumdb/" + dbName + "/supported"},
	} {
		if r := getNoFollow(t, m.URL()+tt.sent); r.status != http.StatusFound || r.header.Get("Location") != other.URL()+tt.location {
			t.Errorf("GET %s: %d, Location %q, want %q", tt.sent, r.status, r.header.Get("Location"), other.URL()+tt.location)
		}
	}
	if r := get(t, m.URL()+"/example.com/%21upper/%21case/@v/list"); r.status != 200 || string(r.body) != "v1.0.0\n" {
		t.Errorf("followed escaped Redirect: %d %q", r.status, r.body)
	}
	if n := other.Count("/example.com/!upper/!case/@v/list"); n != 1 {
		t.Errorf("other Count(!upper list) = %d, want 1", n)
	}

	// Narrowed, as any fault.
	m.SetFault(Redirect(other.URL()).OnSuffix(".zip").Times(1))
	if r := getNoFollow(t, m.URL()+"/example.com/lib/@v/v1.1.0.info"); r.status != 200 || !bytes.Equal(r.body, lib11.Info) {
		t.Errorf(".info under a .zip Redirect: %d %q", r.status, r.body)
	}
	for i, want := range []int{302, 200} {
		if r := getNoFollow(t, m.URL()+zipPath); r.status != want {
			t.Errorf("zip request %d: %d, want %d", i, r.status, want)
		}
	}
}

func TestRedirectSameOrigin(t *testing.T) {
	mods, _, m := setup(t)
	lib11 := Lookup(mods, "example.com/lib", "v1.1.0")
	m.SetFault(RedirectSameOrigin())

	zipPath := "/example.com/lib/@v/v1.1.0.zip"
	r := getNoFollow(t, m.URL()+zipPath)
	if r.status != http.StatusFound || r.header.Get("Location") != "/_moved"+zipPath {
		t.Errorf("RedirectSameOrigin: %d, Location %q", r.status, r.header.Get("Location"))
	}
	m.ResetRequests()
	if r := get(t, m.URL()+zipPath); r.status != 200 || !bytes.Equal(r.body, lib11.Zip) || r.header.Get("Content-Type") != "application/zip" {
		t.Errorf("followed RedirectSameOrigin: %d %q, %d bytes", r.status, r.header.Get("Content-Type"), len(r.body))
	}
	if got, want := m.Requests(), []string{zipPath, "/_moved" + zipPath}; !slices.Equal(got, want) {
		t.Errorf("Requests = %q, want %q", got, want)
	}
	if m.Count("/_moved"+zipPath) != 1 {
		t.Errorf("Count(/_moved...) = %d", m.Count("/_moved"+zipPath))
	}

	// Escaped paths stay escaped in the Location and are recorded unescaped.
	m.ResetRequests()
	esc := "/example.com/%21upper/%21case/@v/list"
	if r := getNoFollow(t, m.URL()+esc); r.header.Get("Location") != "/_moved"+esc {
		t.Errorf("escaped: Location %q", r.header.Get("Location"))
	}
	if r := get(t, m.URL()+esc); r.status != 200 || string(r.body) != "v1.0.0\n" {
		t.Errorf("followed escaped: %d %q", r.status, r.body)
	}
	if n := m.Count("/_moved/example.com/!upper/!case/@v/list"); n != 1 {
		t.Errorf("Count(/_moved/...!upper...) = %d; Requests %q", n, m.Requests())
	}

	// The database, and 404s, are served under /_moved/ too.
	if r := get(t, m.URL()+"/sumdb/"+dbName+"/supported"); r.status != 200 {
		t.Errorf("followed /supported: %d", r.status)
	}
	if r := get(t, m.URL()+"/nothing"); r.status != 404 || string(r.body) != "not found: /nothing\n" {
		t.Errorf("followed /nothing: %d %q", r.status, r.body)
	}

	// /_moved/ is never faulty, whatever is installed, and uses no Times.
	m.SetFault(Status(503))
	if r := get(t, m.URL()+"/_moved"+zipPath); r.status != 200 || !bytes.Equal(r.body, lib11.Zip) {
		t.Errorf("/_moved/ under Status(503): %d", r.status)
	}
	if r := get(t, m.URL()+"/_moved/_moved"+zipPath); r.status != 200 || !bytes.Equal(r.body, lib11.Zip) {
		t.Errorf("/_moved/_moved/ under Status(503): %d", r.status)
	}
	m.SetFault(RedirectSameOrigin().OnSuffix(".zip").Times(2))
	for i := range 2 {
		if r := get(t, m.URL()+zipPath); r.status != 200 || !bytes.Equal(r.body, lib11.Zip) {
			t.Errorf("followed request %d: %d", i, r.status)
		}
	}
	if r := getNoFollow(t, m.URL()+zipPath); r.status != 200 {
		t.Errorf("third request under Times(2): %d, want 200", r.status)
	}
	if r := getNoFollow(t, m.URL()+"/example.com/lib/@v/v1.1.0.info"); r.status != 200 || !bytes.Equal(r.body, lib11.Info) {
		t.Errorf(".info under a .zip RedirectSameOrigin: %d", r.status)
	}

	// Served while healthy too: a redirect followed late still works.
	m.SetFault(Healthy())
	if r := get(t, m.URL()+"/_moved/example.com/lib/@v/list"); r.status != 200 || string(r.body) != "v1.0.0\nv1.1.0\n" {
		t.Errorf("/_moved/ list while healthy: %d %q", r.status, r.body)
	}
}

func TestWrongVersionInfo(t *testing.T) {
	mods, _, m := setup(t)
	lib11 := Lookup(mods, "example.com/lib", "v1.1.0")
	for _, version := range []string{"v9.9.9", "not-a-version", `we"ird\`} {
		m.SetFault(WrongVersionInfo(version))
		for _, p := range []string{"/example.com/lib/@v/v1.1.0.info", "/example.com/lib/@latest", "/example.com/lib/@v/v1.0.0.info", "/example.com/!upper/!case/@latest"} {
			r := get(t, m.URL()+p)
			var info struct{ Version, Time string }
			if err := json.Unmarshal(r.body, &info); err != nil || r.status != 200 {
				t.Errorf("%q: %s: %d %q (%v)", version, p, r.status, r.body, err)
				continue
			}
			if info.Version != version || info.Time != InfoTime {
				t.Errorf("%q: %s = %q", version, p, r.body)
			}
			if r.header.Get("Content-Type") != "application/json" || r.header.Get("Content-Length") != strconv.Itoa(len(r.body)) {
				t.Errorf("%q: %s: Content-Type %q, Content-Length %q for %d bytes", version, p, r.header.Get("Content-Type"), r.header.Get("Content-Length"), len(r.body))
			}
		}
		// Everything else is correct.
		for _, tt := range []struct {
			path   string
			status int
			body   []byte
		}{
			{"/example.com/lib/@v/list", 200, []byte("v1.0.0\nv1.1.0\n")},
			{"/example.com/lib/@v/v1.1.0.mod", 200, lib11.Mod},
			{"/example.com/lib/@v/v1.1.0.zip", 200, lib11.Zip},
			{"/example.com/lib/@v/v9.9.9.info", 404, nil},
			{"/example.com/pre/@latest", 404, nil},
		} {
			r := get(t, m.URL()+tt.path)
			if r.status != tt.status || (tt.body != nil && !bytes.Equal(r.body, tt.body)) {
				t.Errorf("%q: %s: %d %.60q", version, tt.path, r.status, r.body)
			}
		}
	}
	if !bytes.Equal(lib11.Info, infoJSON("v1.1.0")) {
		t.Error("WrongVersionInfo modified the module itself")
	}

	m.SetFault(WrongVersionInfo("v9.9.9").OnSuffix(".info"))
	if r := get(t, m.URL()+"/example.com/lib/@latest"); !bytes.Equal(r.body, lib11.Info) {
		t.Errorf("@latest under an .info fault: %q", r.body)
	}
}

func TestReplaceInfoVersion(t *testing.T) {
	for _, tt := range []struct{ in, version, want string }{
		{`{"Version":"v1.1.0","Time":"2024-01-02T03:04:05Z"}`, "v9.9.9", `{"Version":"v9.9.9","Time":"2024-01-02T03:04:05Z"}`},
		{`{"Time":"t", "Version": "v1.0.0", "Origin": {"VCS": "git"}}`, "x", `{"Time":"t","Version":"x","Origin":{"VCS": "git"}}`},
		{`{"Time":"t"}`, "v2.0.0", `{"Time":"t","Version":"v2.0.0"}`},
		{`{}`, "<v>", `{"Version":"\u003cv\u003e"}`},
	} {
		got, err := replaceInfoVersion([]byte(tt.in), tt.version)
		if err != nil || string(got) != tt.want {
			t.Errorf("replaceInfoVersion(%s, %q) = %s, %v; want %s", tt.in, tt.version, got, err, tt.want)
		}
	}
	for _, in := range []string{``, `[]`, `"v1"`, `{"Version":`} {
		if got, err := replaceInfoVersion([]byte(in), "v9.9.9"); err == nil {
			t.Errorf("replaceInfoVersion(%s) = %s, want an error", in, got)
		}
	}
}

func TestNewFaultStrings(t *testing.T) {
	for _, tt := range []struct {
		f    Fault
		want string
	}{
		{HTML(), "HTML"},
		{HTML().OnPrefix("/example.com/lib/").OnSuffix("/@v/list"), "HTML under /example.com/lib/ on /@v/list"},
		{Trickle(20), "Trickle(20)"},
		{Trickle(1024).OnSuffix(".zip").Times(3), "Trickle(1024) on .zip x3"},
		{Redirect("http://127.0.0.1:8080"), `Redirect("http://127.0.0.1:8080")`},
		{RedirectSameOrigin(), "RedirectSameOrigin"},
		{WrongVersionInfo("v9.9.9").OnSuffix(".info"), `WrongVersionInfo("v9.9.9") on .info`},
		{WrongVersionInfo("not-a-version"), `WrongVersionInfo("not-a-version")`},
	} {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("String = %q, want %q", got, tt.want)
		}
	}
	for k := KindHealthy; k <= KindWrongVersionInfo; k++ {
		if s := k.String(); strings.HasPrefix(s, "FaultKind(") {
			t.Errorf("kind %d has no name", int(k))
		}
	}
}
