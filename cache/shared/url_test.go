package shared_test

import (
	"strings"
	"testing"

	"github.com/gofailover/gofailover/cache/shared"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		raw                      string
		bucket, prefix, endpoint string
		region                   string
		pathStyle                bool
	}{
		{raw: "s3://my-bucket", bucket: "my-bucket"},
		{raw: "s3://my.bucket/a/b/", bucket: "my.bucket", prefix: "a/b"},
		{raw: "s3://b12/gofailover?region=eu-west-3", bucket: "b12", prefix: "gofailover", region: "eu-west-3"},
		{raw: "s3://b12?use_path_style=true", bucket: "b12", pathStyle: true},
		{raw: "s3://b12/p?endpoint=http://127.0.0.1:9000", bucket: "b12", prefix: "p", endpoint: "http://127.0.0.1:9000", pathStyle: true},
		{raw: "s3://b12?endpoint=https%3A%2F%2Fminio.example.org%2F&use_path_style=false", bucket: "b12", endpoint: "https://minio.example.org"},
		{raw: "s3://b12?endpoint=http://[::1]:9000", bucket: "b12", endpoint: "http://[::1]:9000", pathStyle: true},
	} {
		l, err := shared.ParseURL(tc.raw)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.raw, err)
			continue
		}
		ep := ""
		if l.Endpoint != nil {
			ep = l.Endpoint.String()
		}
		if l.Bucket != tc.bucket || l.Prefix != tc.prefix || ep != tc.endpoint || l.Region != tc.region || l.PathStyle != tc.pathStyle {
			t.Errorf("ParseURL(%q) = %+v (endpoint %q)", tc.raw, l, ep)
		}
		back, err := shared.ParseURL(l.String())
		if err != nil || !sameLocation(back, l) {
			t.Errorf("ParseURL(%q).String() = %q, which parses to %+v, %v", tc.raw, l.String(), back, err)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"s3://AKIA:secret@bucket/p", "credential chain"},
		{"http://bucket/p", `scheme "http"`},
		{"s3:///p", "no bucket"},
		{"s3://ab", "3 to 63"},
		{"s3://My-Bucket", "lowercase"},
		{"s3://-bucket", "begins and ends"},
		{"s3://a..b", "two dots"},
		{"s3://192.168.1.1", "IP address"},
		{"s3://bucket/a//b", "empty path element"},
		{"s3://bucket/a/../b", `".."`},
		{"s3://bucket?endpoint=ftp://h", "http://HOST"},
		{"s3://bucket?endpoint=http://h/path", "no path"},
		{"s3://bucket?endpoint=http://u:p@h", "credential chain"},
		{"s3://bucket?endpoint=http://", "no host"},
		{"s3://bucket?use_path_style=maybe", "not a boolean"},
		{"s3://bucket?regoin=x&foo=1", `unknown parameter(s) "foo", "regoin"`},
		{"s3://bucket?region=a&region=b", "2 times"},
		{"s3://bucket#frag", "fragment"},
	} {
		_, err := shared.ParseURL(tc.raw)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURL(%q) = %v, want an error saying %q", tc.raw, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseURL(%q): error of more than one line: %q", tc.raw, err)
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "u:p") {
			t.Errorf("ParseURL(%q): error shows the credentials: %v", tc.raw, err)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"s3://my-bucket", "s3://my.bucket/a/b/", "s3://b12/p?endpoint=http://127.0.0.1:9000&region=us-east-1",
		"s3://b12?use_path_style=true", "s3://b12/%20x?endpoint=https://h:443/", "s3://u:p@b12", "s3://b12/a%2Fb",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		l, err := shared.ParseURL(raw)
		if err != nil {
			return
		}
		s := l.String()
		back, err := shared.ParseURL(s)
		if err != nil {
			t.Fatalf("ParseURL(%q) = %+v, whose String %q does not parse: %v", raw, l, s, err)
		}
		if !sameLocation(back, l) {
			t.Fatalf("ParseURL(%q) = %+v, whose String %q parses to %+v", raw, l, s, back)
		}
	})
}

// sameLocation reports whether a and b are equal, their endpoints
// compared as URLs.
func sameLocation(a, b shared.Location) bool {
	ae, be := "", ""
	if a.Endpoint != nil {
		ae = a.Endpoint.String()
	}
	if b.Endpoint != nil {
		be = b.Endpoint.String()
	}
	a.Endpoint, b.Endpoint = nil, nil
	return a == b && ae == be
}
