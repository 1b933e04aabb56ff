package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"time"
)

// A record is what the store keeps in Badger for one key: the Entry (less its
// Key, which is the Badger key) and, for small bodies, the body itself.
//
// Encoding, version 1 (all varints as in encoding/binary):
//
//	byte     version (1)
//	byte     flags: bit 0 inline body, bit 1 immutable, bit 2 verified; other bits zero
//	uvarint  status
//	varint   StoredAt seconds since the Unix epoch
//	uvarint  StoredAt nanoseconds (< 1e9)
//	uvarint  len(upstream), then upstream bytes
//	uvarint  size
//	32 bytes SHA-256 of the body
//	size bytes body (inline records only)
//	4 bytes  CRC-32C (Castagnoli) of everything before it, little endian
type record struct {
	Entry
	// inline reports whether body holds the body; otherwise it is a blob file.
	inline bool
	// body is the inline body. After decodeRecord it aliases the decoded buffer.
	body []byte
}

const (
	recordVersion1 = 1

	flagInline    = 1 << 0
	flagImmutable = 1 << 1
	flagVerified  = 1 << 2
	flagsKnown    = flagInline | flagImmutable | flagVerified

	// maxStatus bounds Meta.Status: HTTP status codes have three digits.
	maxStatus = 999
	// maxUpstreamLen bounds Meta.Upstream, a mirror's name.
	maxUpstreamLen = 4 << 10
	// maxBodySize bounds any body size a record may claim (1 PiB).
	maxBodySize = 1 << 50

	crcLen = 4
)

// castagnoli is a read-only table; crc32 computes it with hardware help.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBadRecord is wrapped by every decoding failure.
var errBadRecord = errors.New("cache: malformed record")

// checkMeta reports whether m can be encoded.
func checkMeta(m Meta) error {
	if m.Status < 0 || m.Status > maxStatus {
		return fmt.Errorf("cache: status %d out of range 0..%d", m.Status, maxStatus)
	}
	if len(m.Upstream) > maxUpstreamLen {
		return fmt.Errorf("cache: upstream name is %d bytes, more than %d", len(m.Upstream), maxUpstreamLen)
	}
	return nil
}

// encodeRecord returns r's encoding. For inline records len(r.body) must equal r.Size.
func encodeRecord(r *record) ([]byte, error) {
	if err := checkMeta(r.Meta); err != nil {
		return nil, err
	}
	if r.Size < 0 || r.Size > maxBodySize {
		return nil, fmt.Errorf("cache: body size %d out of range", r.Size)
	}
	if r.inline && int64(len(r.body)) != r.Size {
		return nil, fmt.Errorf("cache: inline body is %d bytes but size says %d", len(r.body), r.Size)
	}
	n := 2 + 3*binary.MaxVarintLen64 + binary.MaxVarintLen64 + len(r.Upstream) +
		binary.MaxVarintLen64 + len(r.SHA256) + crcLen
	if r.inline {
		n += len(r.body)
	}
	buf := make([]byte, 0, n)
	var flags byte
	if r.inline {
		flags |= flagInline
	}
	if r.Immutable {
		flags |= flagImmutable
	}
	if r.Verified {
		flags |= flagVerified
	}
	buf = append(buf, recordVersion1, flags)
	buf = binary.AppendUvarint(buf, uint64(r.Status))
	buf = binary.AppendVarint(buf, r.StoredAt.Unix())
	buf = binary.AppendUvarint(buf, uint64(r.StoredAt.Nanosecond()))
	buf = binary.AppendUvarint(buf, uint64(len(r.Upstream)))
	buf = append(buf, r.Upstream...)
	buf = binary.AppendUvarint(buf, uint64(r.Size))
	buf = append(buf, r.SHA256[:]...)
	if r.inline {
		buf = append(buf, r.body...)
	}
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
	return buf, nil
}

// decodeRecord parses an encoded record. The returned record's body aliases
// data, so data must be owned by the caller (not Badger's transaction memory)
// if the body is used after the transaction ends. It never panics: any
// malformed input yields an error wrapping errBadRecord.
func decodeRecord(data []byte) (record, error) {
	var r record
	if len(data) < 2+crcLen {
		return r, fmt.Errorf("%w: %d bytes is too short", errBadRecord, len(data))
	}
	if data[0] != recordVersion1 {
		return r, fmt.Errorf("%w: unknown version %d", errBadRecord, data[0])
	}
	payload, sum := data[:len(data)-crcLen], data[len(data)-crcLen:]
	if got, want := crc32.Checksum(payload, castagnoli), binary.LittleEndian.Uint32(sum); got != want {
		return r, fmt.Errorf("%w: checksum %08x, want %08x", errBadRecord, got, want)
	}
	flags := payload[1]
	if flags&^flagsKnown != 0 {
		return r, fmt.Errorf("%w: unknown flags %#x", errBadRecord, flags)
	}
	r.inline = flags&flagInline != 0
	r.Immutable = flags&flagImmutable != 0
	r.Verified = flags&flagVerified != 0

	d := decoder{buf: payload[2:]}
	status := d.uvarint("status")
	secs := d.varint("time seconds")
	nanos := d.uvarint("time nanoseconds")
	upLen := d.uvarint("upstream length")
	if d.err == nil && upLen > maxUpstreamLen {
		d.fail("upstream length %d too large", upLen)
	}
	upstream := d.bytes(upLen, "upstream")
	size := d.uvarint("size")
	if d.err == nil && size > maxBodySize {
		d.fail("size %d too large", size)
	}
	sha := d.bytes(32, "sha256")
	var body []byte
	if r.inline {
		body = d.bytes(size, "inline body")
	}
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%d trailing bytes", len(d.buf))
	}
	if d.err == nil && status > maxStatus {
		d.fail("status %d out of range", status)
	}
	if d.err == nil && nanos >= 1e9 {
		d.fail("nanoseconds %d out of range", nanos)
	}
	if d.err != nil {
		return record{}, d.err
	}
	r.Status = int(status)
	r.StoredAt = time.Unix(secs, int64(nanos))
	r.Upstream = string(upstream)
	r.Size = int64(size)
	copy(r.SHA256[:], sha)
	r.body = body
	return r, nil
}

// decoder reads varints and byte strings from buf, remembering the first error.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errBadRecord, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad %s", what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail("bad %s", what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) bytes(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) || n > math.MaxInt {
		d.fail("%s: want %d bytes, have %d", what, n, len(d.buf))
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}
