package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
	"time"
)

func sampleRecords() []record {
	body := []byte("module example.com/m\n")
	return []record{
		{
			Entry: Entry{
				Meta: Meta{Status: 200, Immutable: true, StoredAt: time.Unix(1700000000, 999999999), Upstream: "mirror"},
				Size: int64(len(body)), SHA256: sha256.Sum256(body),
			},
			inline: true, body: body,
		},
		{
			Entry: Entry{
				Meta: Meta{Status: 410, StoredAt: time.Unix(-5, 0)},
				Size: 0, SHA256: sha256.Sum256(nil),
			},
			inline: true,
		},
		{
			Entry: Entry{
				Meta: Meta{Status: 200, Immutable: true, StoredAt: time.Unix(1<<40, 1), Upstream: "b", Verified: true},
				Size: 123 << 30, SHA256: sha256.Sum256([]byte("zip")),
			},
		},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for i, r := range sampleRecords() {
		enc, err := encodeRecord(&r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeRecord(enc)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if got.Entry != r.Entry || got.inline != r.inline || !bytes.Equal(got.body, r.body) {
			t.Errorf("record %d: decoded %+v, want %+v", i, got, r)
		}
	}
}

func TestDecodeRejectsDamage(t *testing.T) {
	for i, r := range sampleRecords() {
		enc, err := encodeRecord(&r)
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(enc) {
			if _, err := decodeRecord(enc[:n]); !errors.Is(err, errBadRecord) {
				t.Errorf("record %d cut to %d bytes: err = %v", i, n, err)
			}
		}
		for j := range len(enc) * 8 {
			bad := bytes.Clone(enc)
			bad[j/8] ^= 1 << (j % 8)
			if _, err := decodeRecord(bad); !errors.Is(err, errBadRecord) {
				t.Errorf("record %d with bit %d flipped: err = %v", i, j, err)
			}
		}
		if _, err := decodeRecord(append(bytes.Clone(enc), 0)); !errors.Is(err, errBadRecord) {
			t.Errorf("record %d with a trailing byte: err = %v", i, err)
		}
	}
}

func TestEncodeRejectsBadMeta(t *testing.T) {
	for _, r := range []record{
		{Entry: Entry{Meta: Meta{Status: -1}}},
		{Entry: Entry{Meta: Meta{Status: 1000}}},
		{Entry: Entry{Meta: Meta{Upstream: string(make([]byte, maxUpstreamLen+1))}}},
		{Entry: Entry{Size: -1}},
		{Entry: Entry{Size: 3}, inline: true, body: []byte("ab")},
	} {
		if _, err := encodeRecord(&r); err == nil {
			t.Errorf("encodeRecord(%+v) succeeded", r.Entry)
		}
	}
}

// FuzzDecodeRecord checks that decoding never panics, and that whatever
// decodes re-encodes to something that decodes the same. Each input is tried
// as it is and with its last four bytes replaced by the right checksum, so
// that mutations reach the field parser and not only the checksum test.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		enc, err := encodeRecord(&r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		if len(data) >= crcLen {
			fixed := bytes.Clone(data)
			payload := fixed[:len(fixed)-crcLen]
			binary.LittleEndian.PutUint32(fixed[len(payload):], crc32.Checksum(payload, castagnoli))
			checkDecode(t, fixed)
		}
	})
}

func checkDecode(t *testing.T, data []byte) {
	r, err := decodeRecord(data)
	if err != nil {
		if !errors.Is(err, errBadRecord) {
			t.Fatalf("error %v does not wrap errBadRecord", err)
		}
		return
	}
	enc, err := encodeRecord(&r)
	if err != nil {
		t.Fatalf("decoded record does not re-encode: %v", err)
	}
	r2, err := decodeRecord(enc)
	if err != nil {
		t.Fatalf("re-encoded record does not decode: %v", err)
	}
	if r2.Entry != r.Entry || r2.inline != r.inline || !bytes.Equal(r2.body, r.body) {
		t.Fatalf("round trip changed %+v to %+v", r, r2)
	}
}
