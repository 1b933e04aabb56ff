package checksum

import (
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Database names a checksum database and how to reach it.
type Database struct {
	// Name is the database's name, as in its verifier key.
	Name string
	// Key is the verifier key, "name+hash+keydata".
	Key string
	// URL, when set, is the database's own base URL, used instead of the
	// upstream mirrors' /sumdb/<name>/ paths.
	URL *url.URL
}

// ParseDatabase parses a value in the go command's GOSUMDB syntax: "off",
// "name", "name+key" or "name+key url". A bare name takes its key from
// known, which is asked only then. It returns nil for "off".
func ParseDatabase(value string, known func(name string) (key string, ok bool)) (*Database, error) {
	value = strings.TrimSpace(value)
	if value == "off" {
		return nil, nil
	}
	fields := strings.Fields(value)
	if len(fields) == 0 || len(fields) > 2 {
		return nil, fmt.Errorf("want off, name, name+key or \"name+key url\", got %q", value)
	}
	key := fields[0]
	if !strings.Contains(key, "+") {
		k, ok := known(key)
		if !ok {
			return nil, fmt.Errorf("no known key for checksum database %q: give it as name+key", key)
		}
		key = k
	}
	verifier, err := note.NewVerifier(key)
	if err != nil {
		return nil, fmt.Errorf("invalid checksum database key %q: %w", key, err)
	}
	db := &Database{Name: verifier.Name(), Key: key}
	if len(fields) == 2 {
		raw := fields[1]
		if !strings.Contains(raw, "://") {
			raw = "https://" + raw
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("invalid checksum database URL %q", fields[1])
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		db.URL = u
	}
	return db, nil
}
