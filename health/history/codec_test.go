package history

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSegmentFitsInAValue(t *testing.T) {
	r := newRing(newTier(time.Nanosecond, maxPoints*time.Nanosecond))
	big := slot{
		samples: math.MaxUint32, latN: math.MaxUint32, rateN: math.MaxUint32, state: maxStateCode,
		p50Sum: math.MaxUint64, p95Max: math.MaxUint64, p99Max: math.MaxUint64, rateSum: math.MaxUint64,
		requests: math.MaxUint64, failures: math.MaxUint64, probes: math.MaxUint64, probeFailures: math.MaxUint64,
	}
	for i := range segmentLen {
		// Intervals far apart, so that their differences take many bytes.
		sl := big
		sl.n = int64(i) + int64(maxPoints)*int64((i%2)*(math.MaxInt64/maxPoints-1))
		r.slots[i] = sl
	}
	name := strings.Repeat("x", maxNameLen)
	b := r.encodeSegment(name, 0)
	t.Logf("largest segment: %d bytes", len(b))
	if len(b) > 64<<10 {
		t.Errorf("largest segment is %d bytes, more than a cache value may be", len(b))
	}
	sg, err := decodeSegment(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(sg.slots) != segmentLen || !reflect.DeepEqual(sg.slots, r.slots[:segmentLen]) {
		t.Errorf("largest segment does not round-trip")
	}
}

// FuzzDecode checks that decoding any bytes as a stored value fails
// cleanly or gives what encodes back to the same. Each input is decoded as
// it is and, so that mutations get past the checksum to the body's
// decoding, sealed with its own checksum.
func FuzzDecode(f *testing.F) {
	h := New(Config{})
	fill(h)
	add := func(b []byte) {
		f.Add(b)
		f.Add(b[:len(b)-crcLen]) // the body, for the sealed decoding
	}
	for _, s := range h.ups {
		for ti, r := range s.rings {
			for seg := range r.dirty {
				if ti == 0 && seg%2 == 1 {
					continue
				}
				add(r.encodeSegment(s.name, seg))
			}
		}
	}
	add(manifest{{name: "a.example.com", rank: 1, lastSeen: t0().UnixNano()}, {name: "b", rank: -3}}.encode())
	add(manifest{}.encode())
	f.Add([]byte{})
	f.Add([]byte{formatVersion, kindSegment, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b)
		checkDecode(t, seal(append([]byte(nil), b...)))
	})
}

// checkDecode checks that b decodes, as a manifest and as a segment,
// either with an error or to what encodes and decodes back to the same.
func checkDecode(t *testing.T, b []byte) {
	if m, err := decodeManifest(b); err == nil {
		m2, err := decodeManifest(m.encode())
		if err != nil {
			t.Fatalf("re-encoded manifest does not decode: %v", err)
		}
		slices.SortStableFunc(m, func(a, b manifestEntry) int { return strings.Compare(a.name, b.name) })
		if !reflect.DeepEqual(m, m2) && len(m)+len(m2) > 0 {
			t.Fatalf("manifest round trip: %v, then %v", m, m2)
		}
	}
	sg, err := decodeSegment(b)
	if err != nil {
		return
	}
	for _, sl := range sg.slots {
		sl.point(time.Unix(0, sl.n*int64(sg.step))) // must not panic
	}
	sg2, err := decodeSegment(sg.encode())
	if err != nil {
		t.Fatalf("re-encoded segment does not decode: %v", err)
	}
	if !reflect.DeepEqual(sg, sg2) && len(sg.slots)+len(sg2.slots) > 0 {
		t.Fatalf("segment round trip: %+v, then %+v", sg, sg2)
	}
}
