package cache

import (
	"encoding/hex"
	"os"
)

// Close releases the body: it closes the file of a blob body and does
// nothing for an inline one.
func (o *Object) Close() error {
	if f, ok := o.Body.(*os.File); ok {
		return f.Close()
	}
	return nil
}

// ETag returns a strong, quoted HTTP entity tag derived from the body's
// SHA-256: the first 32 hex digits in double quotes.
func (e Entry) ETag() string {
	var b [34]byte
	b[0] = '"'
	hex.Encode(b[1:33], e.SHA256[:16])
	b[33] = '"'
	return string(b[:])
}
