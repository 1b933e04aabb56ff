package cache

import (
	"testing"
)

// benchOpen measures the hit path: Open and Close of one stored key.
func benchOpen(b *testing.B, size int) {
	s, _ := openTest(b, b.TempDir(), 0)
	if err := s.PutBytes("example.com/m/@v/v1.0.0.x", Meta{Status: 200, Immutable: true, Upstream: "a"}, pattern(size, 1)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		o, err := s.Open("example.com/m/@v/v1.0.0.x")
		if err != nil {
			b.Fatal(err)
		}
		if o.Size != int64(size) {
			b.Fatalf("size %d, want %d", o.Size, size)
		}
		o.Close()
	}
}

// BenchmarkOpenInline is the hit path of a small (.info or .mod sized) body kept in Badger.
func BenchmarkOpenInline(b *testing.B) { benchOpen(b, 1<<10) }

// BenchmarkOpenBlob is the hit path of a body kept in a blob file (a zip).
func BenchmarkOpenBlob(b *testing.B) { benchOpen(b, 1<<20) }

// BenchmarkOpenInlineParallel is BenchmarkOpenInline from GOMAXPROCS goroutines.
func BenchmarkOpenInlineParallel(b *testing.B) {
	s, _ := openTest(b, b.TempDir(), 0)
	if err := s.PutBytes("k", Meta{Status: 200}, pattern(1<<10, 1)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o, err := s.Open("k")
			if err != nil {
				b.Fatal(err)
			}
			o.Close()
		}
	})
}
