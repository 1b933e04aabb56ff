package shared

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// maxSinglePut is the largest object one PUT may write (S3's limit).
const maxSinglePut = 5 << 30

// Key returns the object key of a request path such as
// "/github.com/!foo/bar/@v/v1.2.3.zip": the path, without its leading
// slash, under the prefix.
func (s *Store) Key(path string) string {
	path = strings.TrimPrefix(path, "/")
	if s.loc.Prefix == "" {
		return path
	}
	return s.loc.Prefix + "/" + path
}

// Get reads the object of a request path. The response header must come
// within the timeout; then reads of Body fail once the store sends no
// byte for the idle timeout. An absent object is an error wrapping
// ErrNotFound.
func (s *Store) Get(ctx context.Context, path string) (*Object, error) {
	key := s.Key(path)
	body, info, _, err := s.core.GetObject(ctx, s.loc.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			return nil, s.fail("get", key, ErrNotFound)
		}
		return nil, s.fail("get", key, err)
	}
	return &Object{
		Meta: decodeMeta(info.UserMetadata),
		Key:  key,
		Size: info.Size,
		ETag: info.ETag,
		Body: &objectBody{body: body, s: s, key: key},
	}, nil
}

// objectBody is an object's body whose read errors name the store and the
// key.
type objectBody struct {
	body io.ReadCloser
	s    *Store
	key  string
}

// Read implements io.Reader.
func (b *objectBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err != nil && err != io.EOF {
		err = b.s.fail("reading", b.key, err)
	}
	return n, err
}

// Close implements io.Closer, ending the request.
func (b *objectBody) Close() error { return b.body.Close() }

// Stat asks for the object of a request path without its bytes: the
// returned Object's Body is nil. An absent object is an error wrapping
// ErrNotFound.
func (s *Store) Stat(ctx context.Context, path string) (*Object, error) {
	key := s.Key(path)
	info, err := s.client.StatObject(ctx, s.loc.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			return nil, s.fail("stat", key, ErrNotFound)
		}
		return nil, s.fail("stat", key, err)
	}
	return &Object{Meta: decodeMeta(info.UserMetadata), Key: key, Size: info.Size, ETag: info.ETag}, nil
}

// Put writes size bytes of body, with m as their metadata, as the object
// of a request path, in one PUT (atomic: a failure never leaves part of an
// object under the key), so size must be known and at most 5 GiB. With
// ifAbsent the store is asked to write only if no object is there
// (If-None-Match: *), and an error wrapping ErrExists says one was. The
// upload fails once the store takes no byte for the idle timeout.
func (s *Store) Put(ctx context.Context, path string, body io.Reader, size int64, m Meta, ifAbsent bool) error {
	key := s.Key(path)
	if size < 0 || size > maxSinglePut {
		return s.fail("put", key, fmt.Errorf("size %d: an object is written in one PUT, of 0 to 5 GiB", size))
	}
	// No streaming signature: over plain http minio-go would send the body
	// in aws-chunked encoding, and stores such as versitygw keep that
	// Content-Encoding and send it back to whoever reads the object (a
	// client redirected to a presigned URL would try to decode the zip).
	// The payload is signed with its SHA-256 from m instead, when known,
	// which the store checks: bytes that do not hash to their metadata
	// are refused.
	opts := minio.PutObjectOptions{
		UserMetadata:         m.encode(),
		ContentType:          "application/octet-stream",
		DisableContentSha256: true,
	}
	if ifAbsent {
		opts.SetMatchETagExcept("*")
	}
	sha256Hex := ""
	if m.SHA256 != ([32]byte{}) {
		sha256Hex = hex.EncodeToString(m.SHA256[:])
	}
	if _, err := s.core.PutObject(ctx, s.loc.Bucket, key, body, size, "", sha256Hex, opts); err != nil {
		if ifAbsent && isPreconditionFailed(err) {
			return s.fail("put", key, ErrExists)
		}
		return s.fail("put", key, err)
	}
	return nil
}

// Delete removes the object of a request path; an absent one is not an
// error.
func (s *Store) Delete(ctx context.Context, path string) error {
	key := s.Key(path)
	if err := s.client.RemoveObject(ctx, s.loc.Bucket, key, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return s.fail("delete", key, err)
	}
	return nil
}

// PresignGet returns a URL that reads the object of a request path
// without credentials until expiry has passed (at most 7 days). Signing
// is local, unless the store must first be asked the bucket's region.
func (s *Store) PresignGet(ctx context.Context, path string, expiry time.Duration) (*url.URL, error) {
	key := s.Key(path)
	u, err := s.client.PresignedGetObject(ctx, s.loc.Bucket, key, expiry, nil)
	if err != nil {
		return nil, s.fail("presign", key, err)
	}
	return u, nil
}
