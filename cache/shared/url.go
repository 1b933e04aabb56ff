package shared

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultEndpoint is the store's host when a URL names no endpoint: AWS S3
// (minio-go's default endpoint), over https.
const DefaultEndpoint = "s3.amazonaws.com"

// Location is where the shared store lives: a bucket, a key prefix within
// it, and the S3 endpoint that serves it. It never holds credentials: they
// come from the AWS credential chain (or Config.Credentials).
type Location struct {
	// Bucket is the bucket's name, valid by S3's rules.
	Bucket string
	// Prefix is prepended to every key, without a leading or trailing
	// slash; empty for none.
	Prefix string
	// Endpoint is the S3 endpoint's scheme and host (no path); nil means
	// AWS S3 itself (DefaultEndpoint over https).
	Endpoint *url.URL
	// Region is the bucket's region; empty lets the client ask the store.
	Region string
	// PathStyle addresses the bucket in the path (https://host/bucket/key)
	// rather than in the host name (https://bucket.host/key).
	PathStyle bool
}

// ParseURL parses a shared store's URL:
//
//	s3://BUCKET[/PREFIX]?endpoint=URL&region=REGION&use_path_style=BOOL
//
// Every query parameter is optional. Without an endpoint the store is AWS
// S3 and the bucket is addressed in the host name unless
// use_path_style=true; with one, in the path unless use_path_style=false.
// A URL carrying credentials is refused: they come from the AWS
// credential chain, never the URL. Errors are one line, naming what is
// wrong.
func ParseURL(raw string) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole input, which might hold a secret.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Location{}, fmt.Errorf("shared store URL: %w", err)
	}
	if u.User != nil {
		return Location{}, errors.New("shared store URL: it carries credentials (user:password@); they come from the AWS credential chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, shared files, IAM roles), never the URL")
	}
	if u.Scheme != "s3" {
		return Location{}, fmt.Errorf("shared store URL: scheme %q, want s3://BUCKET[/PREFIX]", u.Scheme)
	}
	if u.Opaque != "" {
		return Location{}, errors.New("shared store URL: want s3://BUCKET[/PREFIX]")
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return Location{}, errors.New("shared store URL: a fragment (#...) has no meaning here")
	}
	loc := Location{Bucket: u.Host}
	if err := checkBucket(loc.Bucket); err != nil {
		return Location{}, fmt.Errorf("shared store URL: %w", err)
	}
	if loc.Prefix, err = cleanPrefix(u.Path); err != nil {
		return Location{}, fmt.Errorf("shared store URL: %w", err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Location{}, fmt.Errorf("shared store URL: query: %w", err)
	}
	var unknown []string
	for k, v := range q {
		switch k {
		case "endpoint", "region", "use_path_style":
			if len(v) > 1 {
				return Location{}, fmt.Errorf("shared store URL: %s is given %d times", k, len(v))
			}
		default:
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return Location{}, fmt.Errorf("shared store URL: unknown parameter(s) %s (known: endpoint, region, use_path_style)", strings.Join(unknown, ", "))
	}
	if q.Has("endpoint") {
		if loc.Endpoint, err = parseEndpoint(q.Get("endpoint")); err != nil {
			return Location{}, fmt.Errorf("shared store URL: endpoint: %w", err)
		}
	}
	if q.Has("region") {
		loc.Region = q.Get("region")
		if err := checkRegion(loc.Region); err != nil {
			return Location{}, fmt.Errorf("shared store URL: region: %w", err)
		}
	}
	loc.PathStyle = loc.Endpoint != nil
	if q.Has("use_path_style") {
		if loc.PathStyle, err = strconv.ParseBool(q.Get("use_path_style")); err != nil {
			return Location{}, fmt.Errorf("shared store URL: use_path_style=%q is not a boolean (true or false)", q.Get("use_path_style"))
		}
	}
	return loc, nil
}

// String returns the location as a URL that ParseURL reads back to an
// equal Location. It never holds credentials, so it is safe to log.
func (l Location) String() string {
	var q []string
	if l.Endpoint != nil {
		q = append(q, "endpoint="+queryValue(l.Endpoint.String()))
	}
	if l.Region != "" {
		q = append(q, "region="+queryValue(l.Region))
	}
	if l.PathStyle != (l.Endpoint != nil) {
		q = append(q, "use_path_style="+strconv.FormatBool(l.PathStyle))
	}
	u := url.URL{Scheme: "s3", Host: l.Bucket, RawQuery: strings.Join(q, "&")}
	if l.Prefix != "" {
		u.Path = "/" + l.Prefix
	}
	return u.String()
}

// queryValue returns v as a query parameter's value: as it is when it
// has only characters that read the same there (as a valid endpoint and
// region do), so that logs show it plainly, else escaped.
func queryValue(v string) string {
	if strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~:/[]", r))
	}) >= 0 {
		return url.QueryEscape(v)
	}
	return v
}

// checkBucket applies S3's naming rules for buckets: 3 to 63 lowercase
// letters, digits, dots and hyphens, beginning and ending with a letter or
// a digit, no two dots in a row, not an IP address.
func checkBucket(b string) error {
	if b == "" {
		return errors.New("no bucket: want s3://BUCKET[/PREFIX]")
	}
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket %q: a bucket name has 3 to 63 characters", b)
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("bucket %q: a bucket name has only lowercase letters, digits, dots and hyphens", b)
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) {
		return fmt.Errorf("bucket %q: a bucket name begins and ends with a letter or a digit", b)
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("bucket %q: a bucket name has no two dots in a row", b)
	}
	if net.ParseIP(b) != nil {
		return fmt.Errorf("bucket %q: a bucket name is not an IP address", b)
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// cleanPrefix turns a URL's path into a key prefix: without the slashes
// around it, and refused if it has an empty, "." or ".." element or a
// character that does not belong in a key.
func cleanPrefix(p string) (string, error) {
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return "", nil
	}
	if !utf8.ValidString(p) {
		return "", errors.New("prefix: not valid UTF-8")
	}
	if strings.IndexFunc(p, func(r rune) bool { return !unicode.IsPrint(r) || r == '\\' }) >= 0 {
		return "", fmt.Errorf("prefix %q: a control character, space or backslash does not belong in a key", p)
	}
	for e := range strings.SplitSeq(p, "/") {
		switch e {
		case "":
			return "", fmt.Errorf("prefix %q: an empty path element", p)
		case ".", "..":
			return "", fmt.Errorf("prefix %q: a %q path element", p, e)
		}
	}
	if len(p) > 512 {
		return "", fmt.Errorf("prefix: %d bytes, at most 512", len(p))
	}
	return p, nil
}

// parseEndpoint parses an endpoint parameter: http or https, a host, no
// path beyond "/", and nothing else.
func parseEndpoint(raw string) (*url.URL, error) {
	e, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, err
	}
	if e.User != nil {
		return nil, errors.New("it carries credentials; they come from the AWS credential chain, never the URL")
	}
	if e.Scheme != "http" && e.Scheme != "https" {
		return nil, fmt.Errorf("%q: want http://HOST[:PORT] or https://HOST[:PORT]", raw)
	}
	if e.Opaque != "" || e.Host == "" || e.Hostname() == "" {
		return nil, fmt.Errorf("%q: no host", raw)
	}
	if e.Path != "" && e.Path != "/" || e.RawQuery != "" || e.ForceQuery || e.Fragment != "" || strings.Contains(raw, "#") {
		return nil, fmt.Errorf("%q: an endpoint has no path, query or fragment", raw)
	}
	h := e.Hostname()
	if strings.IndexFunc(h, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':')
	}) >= 0 {
		return nil, fmt.Errorf("%q: host %q has characters a host name does not", raw, h)
	}
	if strings.Contains(h, ":") && net.ParseIP(h) == nil {
		return nil, fmt.Errorf("%q: host %q is not an IPv6 address", raw, h)
	}
	if p := e.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: port %q is not 1 to 65535", raw, p)
		}
	}
	return &url.URL{Scheme: e.Scheme, Host: strings.ToLower(e.Host)}, nil
}

// checkRegion accepts what region names are made of: letters, digits and
// hyphens.
func checkRegion(r string) error {
	if r == "" || len(r) > 64 {
		return fmt.Errorf("%q: want a region name such as us-east-1", r)
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%q: a region name has only letters, digits and hyphens", r)
		}
	}
	return nil
}
