package sharedtier

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/cache/shared"
)

// Upload is one answer to copy from the local cache to the shared store.
type Upload struct {
	// Path is the object's request path in the store (private modules
	// have their own prefix: the proxy decides).
	Path string
	// Key is the answer's key in the local cache.
	Key string
	// Verified says what the answer was checked against, for the
	// object's metadata, such as "sumdb:NAME" or "body-checks".
	Verified string
	// Immutable answers are written once, with a conditional put; mutable
	// ones (lists, @latest, a checksum database's latest tree) replace an
	// older object.
	Immutable bool
	// Unique says the answer's bytes are the only right ones (verified
	// against the checksum database): an object with other bytes under
	// its path is wrong, and is replaced.
	Unique bool

	attempts  int
	notBefore time.Time
}

// Retry backoff of a failed upload: doubling from uploadBackoff, at most
// uploadMaxBackoff, for at most uploadAttempts failed attempts (waits
// while the store is down do not count).
const (
	uploadBackoff    = time.Second
	uploadMaxBackoff = time.Minute
	uploadAttempts   = 8
)

// uploadTimeout bounds one upload, body included.
const uploadTimeout = 10 * time.Minute

// Enqueue queues an upload of an answer stored in the local cache. It
// never blocks: when the queue is full the upload is dropped and counted.
func (t *Tier) Enqueue(u Upload) {
	u.attempts, u.notBefore = 0, time.Time{}
	if !t.queue.push(u, false) {
		t.stats.dropped.Add(1)
		t.log.Debug("upload queue full: not uploading", "key", u.Path)
	}
}

// uploadLoop takes uploads from the queue until ctx ends.
func (t *Tier) uploadLoop(ctx context.Context) {
	for {
		u, ok := t.queue.pop(ctx)
		if !ok {
			return
		}
		err := t.upload(ctx, u)
		switch {
		case err == nil:
		case errors.Is(err, ErrDown):
			// Not tried: wait for the store to come back.
			u.notBefore = time.Now().Add(time.Second)
			t.requeue(u)
		case ctx.Err() != nil:
		default:
			u.attempts++
			if u.attempts >= uploadAttempts {
				t.stats.failed.Add(1)
				t.log.Warn("giving up an upload to the shared store", "key", u.Path, "attempts", u.attempts, "err", err)
				break
			}
			u.notBefore = time.Now().Add(min(uploadBackoff<<(u.attempts-1), uploadMaxBackoff))
			t.log.Debug("upload to the shared store failed; retrying", "key", u.Path, "attempts", u.attempts, "err", err)
			t.requeue(u)
		}
		t.queue.finish()
	}
}

// requeue puts back an upload to retry, or drops it when the queue is full.
func (t *Tier) requeue(u Upload) {
	if !t.queue.push(u, true) {
		t.stats.dropped.Add(1)
	}
}

// upload copies one answer from the local cache to the store. An answer
// the local cache no longer holds is not uploaded.
func (t *Tier) upload(ctx context.Context, u Upload) error {
	obj, err := t.cfg.Local.Open(u.Key)
	if errors.Is(err, cache.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.stats.failed.Add(1)
		t.log.Warn("cannot read an answer to upload it to the shared store", "key", u.Key, "err", err)
		return nil
	}
	defer obj.Close()
	meta := shared.Meta{SHA256: obj.SHA256, StoredAt: obj.StoredAt, Verified: u.Verified, Upstream: obj.Upstream}
	switch obj.Status {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusGone:
		// A "not found" answer, shared like any that can change.
		meta.Status, u.Immutable, u.Unique = obj.Status, false, false
	default:
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, uploadTimeout)
	defer cancel()

	var existing *shared.Object
	err = t.call(ctx, false, func(ctx context.Context) (err error) {
		existing, err = t.cfg.Store.Stat(ctx, u.Path)
		return err
	})
	switch {
	case errors.Is(err, shared.ErrNotFound):
	case err != nil:
		return fmt.Errorf("asking the shared store for %s: %w", u.Path, err)
	case existing.Status != 0 && meta.Status == 0:
		// A "not found" answer under a path that now has an answer:
		// replaced.
		if err := t.call(ctx, false, func(ctx context.Context) error { return t.cfg.Store.Delete(ctx, u.Path) }); err != nil {
			return fmt.Errorf("deleting the shared store's not-found answer %s: %w", u.Path, err)
		}
	case existing.SHA256 == meta.SHA256:
		// Its metadata says it holds our bytes. (Whether it does is
		// checked by whoever reads it: it is not recorded as verified.)
		t.stats.present.Add(1)
		return nil
	case u.Immutable && !u.Unique:
		// Another replica stored its own copy, as good as ours (the
		// .info of one version may differ between mirrors).
		t.stats.present.Add(1)
		return nil
	case !u.Immutable && !existing.StoredAt.Before(meta.StoredAt):
		t.stats.present.Add(1) // as new as ours, or newer
		return nil
	case u.Immutable:
		// Verified bytes are the only right ones: what is stored is not.
		t.log.Error("the shared store holds other bytes than the verified answer; replacing them",
			"key", u.Path, "stored_sha256", fmt.Sprintf("%x", existing.SHA256), "verified_sha256", fmt.Sprintf("%x", meta.SHA256))
		t.stats.corrupt.Add(1)
		if err := t.call(ctx, false, func(ctx context.Context) error { return t.cfg.Store.Delete(ctx, u.Path) }); err != nil {
			return fmt.Errorf("deleting the shared store's wrong %s: %w", u.Path, err)
		}
	}

	err = t.call(ctx, false, func(ctx context.Context) error {
		return t.cfg.Store.Put(ctx, u.Path, obj.Body, obj.Size, meta, u.Immutable)
	})
	switch {
	case errors.Is(err, shared.ErrExists):
		t.stats.present.Add(1) // another replica was first
		return nil
	case err != nil:
		return fmt.Errorf("uploading %s to the shared store: %w", u.Path, err)
	}
	t.stats.uploaded.Add(1)
	t.stats.bytesWritten.Add(obj.Size)
	if u.Unique {
		// The object now holds the bytes verified here: it may be
		// redirected to, in the version just written.
		if st, err := t.cfg.Store.Stat(ctx, u.Path); err == nil && st.SHA256 == meta.SHA256 {
			t.good.add(u.Path, st.ETag)
		}
	}
	return nil
}
