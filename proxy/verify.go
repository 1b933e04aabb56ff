package proxy

import (
	"context"
)

// Verifier checks a module's .mod or .zip before it is stored or served.
// It is the one place where checksum verification sits on the fetch path.
type Verifier interface {
	// VerifyMod checks the go.mod bytes of mod@version.
	VerifyMod(ctx context.Context, mod, version string, data []byte) error
	// VerifyZip checks the module zip of mod@version stored at path.
	VerifyZip(ctx context.Context, mod, version, path string) error
}

// NoVerify is a Verifier that accepts everything.
type NoVerify struct{}

// VerifyMod accepts data.
func (NoVerify) VerifyMod(context.Context, string, string, []byte) error { return nil }

// VerifyZip accepts the zip.
func (NoVerify) VerifyZip(context.Context, string, string, string) error { return nil }
