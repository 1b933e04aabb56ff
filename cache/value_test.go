package cache

import (
	"errors"
	"sync"
	"testing"
)

func TestSwapValue(t *testing.T) {
	s := openTestStore(t)
	if v, err := s.ReadValue("db/latest"); err != nil || len(v) != 0 {
		t.Fatalf("unwritten value = %q, %v; want empty", v, err)
	}
	if err := s.SwapValue("db/latest", nil, []byte("tree 1")); err != nil {
		t.Fatal(err)
	}
	if err := s.SwapValue("db/latest", nil, []byte("tree 2")); !errors.Is(err, ErrConflict) {
		t.Fatalf("swap from a stale old value: %v, want ErrConflict", err)
	}
	if err := s.SwapValue("db/latest", []byte("tree 1"), []byte("tree 2")); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.ReadValue("db/latest"); string(v) != "tree 2" {
		t.Fatalf("value = %q, want tree 2", v)
	}
	// Values live apart from records.
	if _, err := s.Lookup("db/latest"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a value is visible as a record: %v", err)
	}
	if st := s.Stats(); st.Entries != 0 {
		t.Errorf("values counted as entries: %+v", st)
	}
}

func TestSwapValueConcurrentlyExactlyOneWins(t *testing.T) {
	s := openTestStore(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 16 {
		wg.Go(func() {
			if err := s.SwapValue("v", nil, []byte{byte(i)}); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, ErrConflict) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d swaps from the empty value succeeded, want 1", wins)
	}
}

func TestMarkVerified(t *testing.T) {
	s := openTestStore(t)
	body := []byte("module example.com/m\n")
	if err := s.PutBytes("k", Meta{Status: 200, Immutable: true}, body); err != nil {
		t.Fatal(err)
	}
	e, _ := s.Lookup("k")
	if e.Verified {
		t.Fatal("new record is verified")
	}
	if err := s.MarkVerified("k", [32]byte{1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkVerified with another digest: %v, want ErrNotFound", err)
	}
	if err := s.MarkVerified("k", e.SHA256); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Lookup("k"); !e.Verified || !e.Immutable || e.Size != int64(len(body)) {
		t.Errorf("after MarkVerified: %+v", e)
	}
	if err := s.MarkVerified("absent", e.SHA256); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkVerified of an absent key: %v", err)
	}
}

func openTestStore(t *testing.T) *Store {
	t.Helper()
	s, _ := openTest(t, t.TempDir(), 0)
	return s
}
