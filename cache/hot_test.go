package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
)

// openBody opens key and returns its body and entry.
func openBody(t *testing.T, s *Store, key string) ([]byte, Entry, error) {
	t.Helper()
	o, err := s.Open(key)
	if err != nil {
		return nil, Entry{}, err
	}
	defer o.Close()
	b, err := io.ReadAll(o.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, o.Entry, nil
}

// TestHotRecordsFollowWrites: a record served from memory is never served
// once it has been overwritten, marked verified or deleted.
func TestHotRecordsFollowWrites(t *testing.T) {
	s := openTestStore(t)
	const key = "example.com/m/@v/v1.0.0.info"
	for i := range 3 {
		want := []byte(fmt.Sprintf(`{"Version":"v1.0.%d"}`, i))
		if err := s.PutBytes(key, Meta{Status: 200, Upstream: "a"}, want); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second Open is served from memory
			got, e, err := openBody(t, s, key)
			if err != nil || !bytes.Equal(got, want) || e.Verified || e.Key != key {
				t.Fatalf("round %d: Open = %q %+v %v, want %q", i, got, e, err, want)
			}
		}
		if s.hot.get(key) == nil {
			t.Fatalf("round %d: the record is not hot after two reads", i)
		}
	}
	_, e, _ := openBody(t, s, key)
	if err := s.MarkVerified(key, e.SHA256); err != nil {
		t.Fatal(err)
	}
	if _, e, err := openBody(t, s, key); err != nil || !e.Verified {
		t.Fatalf("after MarkVerified: %+v %v", e, err)
	}
	if err := s.Delete(key); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openBody(t, s, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Delete: Open error %v, want ErrNotFound", err)
	}
}

// TestHotRecordsRace: readers hammer a key while it is rewritten; after
// each write has returned, every Open sees that write (or a later one),
// never an older record kept in memory by a read that raced the write.
func TestHotRecordsRace(t *testing.T) {
	s := openTestStore(t)
	const key = "example.com/m/@v/list"
	body := func(i int64) []byte { return []byte(fmt.Sprintf("v1.0.%d\n", i)) }
	if err := s.PutBytes(key, Meta{Status: 200}, body(0)); err != nil {
		t.Fatal(err)
	}
	var written atomic.Int64 // the last write that returned
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				floor := written.Load()
				o, err := s.Open(key)
				if err != nil {
					failed.Store(err.Error())
					return
				}
				b, _ := io.ReadAll(o.Body)
				o.Close()
				var got int64
				fmt.Sscanf(string(b), "v1.0.%d", &got)
				if got < floor {
					failed.Store(fmt.Sprintf("read %q after write %d had returned", b, floor))
					return
				}
			}
		})
	}
	for i := int64(1); i <= 300 && failed.Load() == nil; i++ {
		if err := s.PutBytes(key, Meta{Status: 200}, body(i)); err != nil {
			t.Fatal(err)
		}
		written.Store(i)
	}
	close(stop)
	wg.Wait()
	if f := failed.Load(); f != nil {
		t.Fatal(f)
	}
}

// TestHotRecordsBound: the memory kept stays within its bound, and large
// bodies are not kept.
func TestHotRecordsBound(t *testing.T) {
	var h hotRecords
	body := make([]byte, 8<<10)
	for i := range 2000 {
		key := fmt.Sprintf("k%d", i)
		h.keep(key, &record{inline: true, body: body}, h.gen.Load())
	}
	if h.bytes > hotMaxBytes || h.bytes <= hotMaxBytes/2 || len(h.m) == 0 {
		t.Errorf("%d records, %d bytes; bound %d", len(h.m), h.bytes, hotMaxBytes)
	}
	h.keep("big", &record{inline: true, body: make([]byte, hotMaxBody+1)}, h.gen.Load())
	if h.get("big") != nil {
		t.Error("a body over hotMaxBody was kept")
	}
	gen := h.gen.Load()
	h.forget("k1")
	h.keep("late", &record{inline: true, body: body}, gen)
	if h.get("late") != nil {
		t.Error("a record read before a write was kept after it")
	}
}
