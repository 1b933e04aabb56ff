package main

import "testing"

func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1024": 1024, "20GiB": 20 << 30, "500 MB": 500e6, "1.5KiB": 1536, "2tb": 2e12, "7B": 7,
	} {
		var b byteSize
		if err := b.UnmarshalText([]byte(in)); err != nil || int64(b) != want {
			t.Errorf("%q: %d, %v; want %d", in, b, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1GiB", "1 parsec", "1e400", "9999999TiB", "1..2MB"} {
		var b byteSize
		if err := b.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q: parsed as %d, want an error", in, b)
		}
	}
	if s := byteSize(20 << 30).String(); s != "20GiB" {
		t.Errorf("String() = %s", s)
	}
}
