package history

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"time"
)

// The stored format. Every value is
//
//	version byte (formatVersion), kind byte, body, CRC32 (IEEE, big-endian)
//
// where the CRC covers everything before it. Integers in the body are
// varints (encoding/binary), strings a length and their bytes.
//
// A manifest (kindManifest) lists the upstreams: a count, then for each its
// name, Rank (signed) and when it was last seen (signed Unix nanoseconds).
//
// A segment (kindSegment) holds the used slots of one segment of one tier
// of one upstream: the upstream's name, the tier's step in nanoseconds and
// capacity in points, the segment's index, a count, then for each slot in
// increasing position: the number of unused positions before it, its
// interval (signed; the first absolute, then the difference from the
// previous one), samples, latN, rateN, state, p50Sum, p95Max, p99Max,
// rateSum, requests, failures, probes, probeFailures.
const (
	formatVersion = 1
	kindManifest  = 'M'
	kindSegment   = 'S'
	crcLen        = 4
)

// manifest is the stored list of upstreams.
type manifest []manifestEntry

// manifestEntry is one upstream in a manifest.
type manifestEntry struct {
	name     string
	rank     int
	lastSeen int64 // Unix nanoseconds
}

// segment is one decoded segment of a ring.
type segment struct {
	name     string
	step     time.Duration
	capacity int
	index    int
	slots    []slot // used, in increasing position
}

// encode returns the stored form of m, its entries sorted by name.
func (m manifest) encode() []byte {
	m = slices.Clone(m)
	slices.SortStableFunc(m, func(a, b manifestEntry) int { return cmp.Compare(a.name, b.name) })
	b := []byte{formatVersion, kindManifest}
	b = binary.AppendUvarint(b, uint64(len(m)))
	for _, e := range m {
		b = appendString(b, e.name)
		b = binary.AppendVarint(b, int64(e.rank))
		b = binary.AppendVarint(b, e.lastSeen)
	}
	return seal(b)
}

// decodeManifest decodes a stored manifest.
func decodeManifest(b []byte) (manifest, error) {
	r, err := open(b, kindManifest)
	if err != nil {
		return nil, err
	}
	n := r.count(3) // an entry takes at least 3 bytes
	m := make(manifest, 0, n)
	for range n {
		e := manifestEntry{name: r.string(maxNameLen)}
		rank := r.varint()
		if rank < math.MinInt32 || rank > math.MaxInt32 {
			r.fail("rank %d out of range", rank)
		}
		e.rank = int(rank)
		e.lastSeen = r.varint()
		m = append(m, e)
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return m, nil
}

// encodeSegment returns the stored form of segment seg of r, which belongs
// to the upstream name.
func (r *ring) encodeSegment(name string, seg int) []byte {
	lo, hi := seg*segmentLen, min((seg+1)*segmentLen, len(r.slots))
	sg := segment{name: name, step: r.tier.step, capacity: len(r.slots), index: seg}
	for _, sl := range r.slots[lo:hi] {
		if sl.samples > 0 {
			sg.slots = append(sg.slots, sl)
		}
	}
	return sg.encode()
}

// encode returns the stored form of sg.
func (sg *segment) encode() []byte {
	b := []byte{formatVersion, kindSegment}
	b = appendString(b, sg.name)
	b = binary.AppendUvarint(b, uint64(sg.step))
	b = binary.AppendUvarint(b, uint64(sg.capacity))
	b = binary.AppendUvarint(b, uint64(sg.index))
	b = binary.AppendUvarint(b, uint64(len(sg.slots)))
	pos := int64(sg.index * segmentLen)
	var prevN int64
	for i, sl := range sg.slots {
		p := sl.n % int64(sg.capacity)
		b = binary.AppendUvarint(b, uint64(p-pos))
		pos = p + 1
		if i == 0 {
			b = binary.AppendVarint(b, sl.n)
		} else {
			b = binary.AppendVarint(b, sl.n-prevN)
		}
		prevN = sl.n
		for _, v := range [...]uint64{uint64(sl.samples), uint64(sl.latN), uint64(sl.rateN), uint64(sl.state),
			sl.p50Sum, sl.p95Max, sl.p99Max, sl.rateSum, sl.requests, sl.failures, sl.probes, sl.probeFailures} {
			b = binary.AppendUvarint(b, v)
		}
	}
	return seal(b)
}

// decodeSegment decodes a stored segment, checking that its slots fit its
// tier and segment.
func decodeSegment(b []byte) (segment, error) {
	r, err := open(b, kindSegment)
	if err != nil {
		return segment{}, err
	}
	sg := segment{name: r.string(maxNameLen)}
	step := r.uvarint()
	capacity := r.uvarint()
	index := r.uvarint()
	switch {
	case r.err != nil:
	case step == 0 || step > math.MaxInt64:
		r.fail("step %d out of range", step)
	case capacity == 0 || capacity > maxPoints:
		r.fail("capacity %d out of range", capacity)
	case index >= uint64(segments(int(capacity))):
		r.fail("segment %d out of range", index)
	}
	if r.err != nil {
		return segment{}, r.err
	}
	sg.step, sg.capacity, sg.index = time.Duration(step), int(capacity), int(index)
	lo := int64(sg.index * segmentLen)
	hi := min(lo+segmentLen, int64(sg.capacity))
	maxN := math.MaxInt64 / int64(step)
	n := r.count(14) // a slot takes at least 14 bytes
	pos := lo
	var prevN int64
	for i := range n {
		pos += int64(min(r.uvarint(), segmentLen))
		d := r.varint()
		sl := slot{n: d}
		if i > 0 {
			sl.n = prevN + d
			if (d > 0 && sl.n < prevN) || (d < 0 && sl.n > prevN) {
				r.fail("interval overflows")
			}
		}
		prevN = sl.n
		var f [12]uint64
		for j := range f {
			f[j] = r.uvarint()
		}
		switch {
		case r.err != nil:
			return segment{}, r.err
		case pos >= hi:
			r.fail("slot %d outside segment", pos)
		case sl.n < 0 || sl.n > maxN || sl.n%int64(sg.capacity) != pos:
			r.fail("interval %d does not belong in slot %d", sl.n, pos)
		case f[0] == 0 || f[0] > math.MaxUint32 || f[1] > f[0] || f[2] > f[0]:
			r.fail("bad sample counts %d, %d, %d", f[0], f[1], f[2])
		case f[3] > uint64(maxStateCode):
			r.fail("unknown state %d", f[3])
		}
		if r.err != nil {
			return segment{}, r.err
		}
		sl.samples, sl.latN, sl.rateN, sl.state = uint32(f[0]), uint32(f[1]), uint32(f[2]), stateCode(f[3])
		sl.p50Sum, sl.p95Max, sl.p99Max, sl.rateSum = f[4], f[5], f[6], f[7]
		sl.requests, sl.failures, sl.probes, sl.probeFailures = f[8], f[9], f[10], f[11]
		sg.slots = append(sg.slots, sl)
		pos++
	}
	if err := r.end(); err != nil {
		return segment{}, err
	}
	return sg, nil
}

// appendString appends s, length first.
func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// seal appends the CRC of b.
func seal(b []byte) []byte {
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// open checks the envelope of a stored value of kind and returns a reader
// of its body.
func open(b []byte, kind byte) (*reader, error) {
	if len(b) < 2+crcLen {
		return nil, fmt.Errorf("stored value of %d bytes is truncated", len(b))
	}
	body, sum := b[:len(b)-crcLen], binary.BigEndian.Uint32(b[len(b)-crcLen:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, errors.New("stored value fails its checksum")
	}
	if body[0] != formatVersion {
		return nil, fmt.Errorf("stored value has unknown version %d", body[0])
	}
	if body[1] != kind {
		return nil, fmt.Errorf("stored value is of kind %q, want %q", body[1], kind)
	}
	return &reader{b: body[2:]}, nil
}

// reader decodes a body. Its first error sticks: later reads return zero.
type reader struct {
	b   []byte
	err error
}

// fail records a decoding error, unless one is recorded already.
func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("stored value is corrupt: "+format, args...)
	}
}

// uvarint reads an unsigned varint.
func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad or truncated number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// varint reads a signed varint.
func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad or truncated number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a count of items taking at least minLen bytes each, failing
// if the rest of the body cannot hold that many.
func (r *reader) count(minLen int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)/minLen) {
		r.fail("count %d exceeds the data", n)
		return 0
	}
	return int(n)
}

// string reads a string of at most maxLen bytes.
func (r *reader) string(maxLen int) string {
	n := r.uvarint()
	if n > uint64(maxLen) || n > uint64(len(r.b)) {
		r.fail("string of %d bytes is too long or truncated", n)
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// end returns the first error, or one if bytes are left over.
func (r *reader) end() error {
	if r.err == nil && len(r.b) > 0 {
		r.fail("%d bytes left over", len(r.b))
	}
	return r.err
}
