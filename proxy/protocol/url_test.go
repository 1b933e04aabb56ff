package protocol

import (
	"net/url"
	"testing"
)

func TestURLEscapesAsTheGoCommand(t *testing.T) {
	base, err := url.Parse("https://user:pw@mirror.example/base/path")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{"/github.com/!foo/bar/@v/list", "https://user:pw@mirror.example/base/path/github.com/%21foo/bar/@v/list"},
		{"/example.com/m/@v/v1.0.0+incompatible.zip", "https://user:pw@mirror.example/base/path/example.com/m/@v/v1.0.0+incompatible.zip"},
		{"/example.com/m/@v/my branch#1%.info", "https://user:pw@mirror.example/base/path/example.com/m/@v/my%20branch%231%25.info"},
		{"/sumdb/sum.example/lookup/example.com/!m@v1.0.0", "https://user:pw@mirror.example/base/path/sumdb/sum.example/lookup/example.com/%21m@v1.0.0"},
	}
	for _, tt := range tests {
		if got := URL(base, tt.path).String(); got != tt.want {
			t.Errorf("URL(%q) = %s, want %s", tt.path, got, tt.want)
		}
	}
	// The base is not changed.
	if base.String() != "https://user:pw@mirror.example/base/path" {
		t.Errorf("URL changed its base: %s", base)
	}
	// A base URL at the root.
	root, _ := url.Parse("http://127.0.0.1:3000")
	if got := URL(root, "/m/@latest").String(); got != "http://127.0.0.1:3000/m/@latest" {
		t.Errorf("URL at the root = %s", got)
	}
}
