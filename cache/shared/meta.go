package shared

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// The user metadata keys (x-amz-meta-KEY) a Meta is stored under.
const (
	metaSHA256   = "sha256"
	metaStoredAt = "stored-at"
	metaVerified = "verified"
	metaUpstream = "upstream"
	metaStatus   = "status"
)

// encode returns m as user metadata, leaving out its zero fields.
func (m Meta) encode() map[string]string {
	md := make(map[string]string, 4)
	if m.SHA256 != ([32]byte{}) {
		md[metaSHA256] = hex.EncodeToString(m.SHA256[:])
	}
	if !m.StoredAt.IsZero() {
		md[metaStoredAt] = m.StoredAt.UTC().Format(time.RFC3339Nano)
	}
	if m.Verified != "" {
		md[metaVerified] = m.Verified
	}
	if m.Upstream != "" {
		md[metaUpstream] = m.Upstream
	}
	if m.Status != 0 {
		md[metaStatus] = strconv.Itoa(m.Status)
	}
	return md
}

// decodeMeta reads a Meta from an object's user metadata, whose keys
// may come canonicalised ("Sha256", "Stored-At") and with or without their
// "x-amz-meta-" prefix. A malformed value leaves its field zero.
func decodeMeta(md map[string]string) Meta {
	var m Meta
	for k, v := range md {
		k = strings.ToLower(k)
		k = strings.TrimPrefix(k, "x-amz-meta-")
		switch k {
		case metaSHA256:
			if b, err := hex.DecodeString(v); err == nil && len(b) == len(m.SHA256) {
				copy(m.SHA256[:], b)
			}
		case metaStoredAt:
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				m.StoredAt = t
			}
		case metaVerified:
			m.Verified = v
		case metaUpstream:
			m.Upstream = v
		case metaStatus:
			if n, err := strconv.Atoi(v); err == nil && n >= 100 && n <= 599 {
				m.Status = n
			}
		}
	}
	return m
}
