package protocol

import (
	"net/url"
	pathpkg "path"
	"strings"
)

// URL returns the URL of a protocol path (such as
// "/github.com/!foo/bar/@v/v1.2.3.zip" or "/sumdb/<name>/supported") on an
// upstream whose base URL is base, built exactly as the go command builds
// it (cmd/go/internal/modfetch's proxyRepo.getBody): the path is joined to
// the base path, and its escaped form is url.PathEscape's, with "/" kept.
// So '!' of case-encoded module paths is sent as "%21", and a version
// query's space, '#' or '%' are escaped, whatever the base URL holds.
func URL(base *url.URL, path string) *url.URL {
	u := *base
	u.Path = pathpkg.Join(base.Path, path)
	u.RawPath = pathpkg.Join(base.RawPath, pathEscape(path))
	u.RawQuery, u.Fragment = "", ""
	return &u
}

// pathEscape escapes s for a URL path, leaving its slashes as they are.
func pathEscape(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "%2F", "/")
}
