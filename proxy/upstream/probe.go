package upstream

import (
	"context"
	"fmt"
	"os"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/protocol"
)

// Request makes one probe request for health.Prober (it implements
// health.Requester): it asks u for the protocol path, judges the answer
// like any other, and returns the Outcome, the body of a usable 200 answer
// other than a zip, and whether the Outcome says anything about u. A zip
// (or another large answer) is written to a temporary file, checked, and
// removed.
func (c *Client) Request(ctx context.Context, u *health.Upstream, path string) (health.Outcome, []byte, bool) {
	r, err := protocol.ParseRequest(path)
	if err != nil {
		return health.Outcome{Failure: health.FailOther, Err: fmt.Errorf("probe path %s: %w", path, err)}, nil, false
	}
	resp := c.Get(ctx, u, r, Options{Probe: true, Spool: c.tempFile})
	body := resp.Body
	if resp.File != nil {
		if r.Kind == protocol.KindList {
			// The prober compares lists: a long one comes back from its
			// file (it passed the checks, so it is within its limit).
			body, err = os.ReadFile(resp.File.Path())
			if err != nil {
				body = nil
			}
		}
		resp.File.Discard()
	}
	return resp.Outcome, body, !resp.Local && !resp.Cancelled
}

// tempFile creates a temporary file for a probe's zip.
func (c *Client) tempFile() (File, error) {
	f, err := os.CreateTemp(c.cfg.TempDir, "gofailover-probe-*.zip")
	if err != nil {
		return nil, err
	}
	return &tempFile{File: f}, nil
}

// tempFile is a File on a temporary file of the system's.
type tempFile struct{ *os.File }

// Path names the file.
func (f *tempFile) Path() string { return f.Name() }

// Discard closes and removes the file.
func (f *tempFile) Discard() error {
	f.Close()
	if err := os.Remove(f.Name()); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
