package main

import (
	"fmt"
	"strings"

	"github.com/gofailover/gofailover/proxy"
)

// prefetchSetting is GOFAILOVER_PREFETCH: off, or a comma-separated list
// of what to fetch ahead of the go command: mod (the .mod of a version
// whose .info is asked for, and the requirements of every .mod fetched)
// and zip (the .zip of a version whose .info is asked for).
type prefetchSetting proxy.Prefetch

// UnmarshalText parses the setting.
func (p *prefetchSetting) UnmarshalText(text []byte) error {
	*p = prefetchSetting{}
	s := strings.ToLower(strings.TrimSpace(string(text)))
	if s == "off" || s == "" {
		return nil
	}
	for part := range strings.SplitSeq(s, ",") {
		switch strings.TrimSpace(part) {
		case "mod":
			p.Mods = true
		case "zip":
			p.Zips = true
		default:
			return fmt.Errorf("%q: want off, or a list of mod and zip (such as mod,zip)", text)
		}
	}
	return nil
}
