package main

import (
	"strings"
	"testing"
)

func TestCacheReserveSetting(t *testing.T) {
	for _, tc := range []struct {
		value   string
		bytes   int64
		percent float64
		err     string
	}{
		{"", 0, 0, ""}, // unset: the cache's default rule
		{"5%", 0, 5, ""},
		{" 12.5 % ", 0, 12.5, ""},
		{"2GiB", 2 << 30, 0, ""},
		{"500MB", 500e6, 0, ""},
		{"0", 1, 0, ""}, // the least the cache allows
		{"0%", 1, 0, ""},
		{"100%", 0, 0, `GOFAILOVER_CACHE_RESERVE: invalid value: "100%" is not a percentage from 0 to 100`},
		{"lots", 0, 0, `GOFAILOVER_CACHE_RESERVE: invalid value: "lots" is not a size such as 2GiB, nor a share of the file system such as 5%`},
	} {
		environ := []string{}
		if tc.value != "" {
			environ = append(environ, "GOFAILOVER_CACHE_RESERVE="+tc.value)
		}
		cfg, err := load(t, nil, environ...)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.value, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.value, err)
			continue
		}
		if b, p := cfg.CacheReserve.cacheOptions(); b != tc.bytes || p != tc.percent {
			t.Errorf("%q: Reserve %d, ReservePercent %v; want %d, %v", tc.value, b, p, tc.bytes, tc.percent)
		}
	}
	cfg, err := load(t, []string{"--cache-reserve=10%"}, "GOFAILOVER_CACHE_RESERVE=1GiB")
	if err != nil || cfg.CacheReserve.String() != "10%" {
		t.Errorf("the flag: %v, %v; want 10%%", cfg.CacheReserve, err)
	}
}
