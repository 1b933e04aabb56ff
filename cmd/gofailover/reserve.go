package main

import (
	"fmt"
	"strconv"
	"strings"
)

// reserveSize is GOFAILOVER_CACHE_RESERVE: the free space the cache leaves
// on its file system, as a size ("2GiB", as byteSize reads it) or a share
// of the file system ("5%"). Unset means the cache's default rule; "0"
// means the least the cache allows (Badger's headroom, 64 MiB).
type reserveSize struct {
	// set reports that a value was given; bytes is the size given, and
	// percent the share given (0 to 100), at most one of them not zero.
	set     bool
	bytes   int64
	percent float64
}

// UnmarshalText parses a size or a percentage.
func (r *reserveSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if num, ok := strings.CutSuffix(s, "%"); ok {
		p, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || p < 0 || p >= 100 {
			return fmt.Errorf("%q is not a percentage from 0 to 100, such as 5%%", s)
		}
		*r = reserveSize{set: true, percent: p}
		return nil
	}
	var b byteSize
	if err := b.UnmarshalText(text); err != nil {
		return fmt.Errorf("%q is not a size such as 2GiB, nor a share of the file system such as 5%%", s)
	}
	*r = reserveSize{set: true, bytes: int64(b)}
	return nil
}

// String formats the reserve as it was given.
func (r reserveSize) String() string {
	switch {
	case !r.set:
		return "default"
	case r.percent > 0:
		return strconv.FormatFloat(r.percent, 'f', -1, 64) + "%"
	}
	return byteSize(r.bytes).String()
}

// cacheOptions returns the reserve as cache.Options.Reserve and
// ReservePercent take it: there zero means the default rule, and a reserve
// below Badger's headroom is raised to it.
func (r reserveSize) cacheOptions() (bytes int64, percent float64) {
	switch {
	case !r.set:
		return 0, 0
	case r.percent > 0:
		return 0, r.percent
	}
	return max(r.bytes, 1), 0
}
