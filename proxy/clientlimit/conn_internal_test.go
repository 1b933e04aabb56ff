package clientlimit

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// recordingConn is a net.Conn whose ReadFrom and Write record what they
// were given, and the write deadline each had left.
type recordingConn struct {
	net.Conn
	pieces    []int64 // N of each *io.LimitedReader given to ReadFrom
	files     int     // how many of them read an *os.File directly
	deadline  time.Time
	deadlines int             // how many times the deadline was set
	left      []time.Duration // the deadline left at each ReadFrom or Write
}

func (c *recordingConn) SetWriteDeadline(t time.Time) error {
	c.deadline = t
	c.deadlines++
	return nil
}

func (c *recordingConn) SetDeadline(t time.Time) error { return c.SetWriteDeadline(t) }

func (c *recordingConn) Write(p []byte) (int, error) {
	c.left = append(c.left, time.Until(c.deadline))
	return len(p), nil
}

func (c *recordingConn) ReadFrom(r io.Reader) (int64, error) {
	c.left = append(c.left, time.Until(c.deadline))
	lr, ok := r.(*io.LimitedReader)
	if !ok {
		return 0, nil
	}
	c.pieces = append(c.pieces, lr.N)
	if _, ok := lr.R.(*os.File); ok {
		c.files++
	}
	n, err := io.Copy(io.Discard, lr)
	return n, err
}

// TestReadFromHandsTheFileToSendfile shows that a file goes to the inner
// connection's ReadFrom as the net package's sendfile wants it (an
// *io.LimitedReader of the *os.File), in pieces of WriteChunk bytes, each
// with at least the write timeout left.
func TestReadFromHandsTheFileToSendfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 2*WriteChunk+100), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := NewListener(nil, Config{MaxConns: 1, WriteTimeout: time.Second})
	inner := &recordingConn{}
	c := &Conn{Conn: inner, l: l}
	lr := &io.LimitedReader{R: f, N: 2*WriteChunk + 50}
	n, err := c.ReadFrom(lr)
	if err != nil || n != 2*WriteChunk+50 || lr.N != 0 {
		t.Fatalf("ReadFrom: %d, %v, %d left; want %d, nil, 0 left", n, err, lr.N, 2*WriteChunk+50)
	}
	if want := []int64{WriteChunk, WriteChunk, 50}; len(inner.pieces) != 3 || inner.pieces[0] != want[0] || inner.pieces[1] != want[1] || inner.pieces[2] != want[2] {
		t.Errorf("pieces %v, want %v", inner.pieces, want)
	}
	if inner.files != 3 {
		t.Errorf("%d pieces read the file directly, want 3", inner.files)
	}
	checkLeft(t, inner.left, time.Second)

	// The whole file, not limited: pieces until it ends.
	f.Seek(0, io.SeekStart)
	inner.pieces, inner.files, inner.deadlines = nil, 0, 0
	if n, err := c.ReadFrom(f); err != nil || n != 2*WriteChunk+100 {
		t.Fatalf("ReadFrom of the whole file: %d, %v", n, err)
	}
	if len(inner.pieces) != 3 || inner.files != 3 {
		t.Errorf("whole file: pieces %v (%d of the file), want 3 of the file", inner.pieces, inner.files)
	}
}

// checkLeft fails unless every piece had at least timeout and at most an
// eighth more of its write deadline left.
func checkLeft(t *testing.T, left []time.Duration, timeout time.Duration) {
	t.Helper()
	for i, d := range left {
		// A little under the timeout: time passes between the check
		// and the piece.
		if d < timeout-50*time.Millisecond || d > timeout+timeout/writeSlack {
			t.Errorf("piece %d had %v of its write deadline left, want %v to %v", i, d, timeout, timeout+timeout/writeSlack)
		}
	}
}

// TestWriteDeadlineMovesOnlyWhenShort: a write is given at least the write
// timeout, but the deadline is moved only when less than that is left, so
// that a connection answering many small requests leaves its timer alone;
// a deadline cleared or set by someone else is not trusted.
func TestWriteDeadlineMovesOnlyWhenShort(t *testing.T) {
	const timeout = time.Second
	l := NewListener(nil, Config{MaxConns: 1, WriteTimeout: timeout})
	inner := &recordingConn{}
	c := &Conn{Conn: inner, l: l}
	for range 100 {
		if _, err := c.Write([]byte("answer")); err != nil {
			t.Fatal(err)
		}
	}
	if inner.deadlines != 1 {
		t.Errorf("100 quick writes set the deadline %d times, want once", inner.deadlines)
	}
	checkLeft(t, inner.left, timeout)

	// Less than the timeout left (time has passed): moved.
	c.SetWriteDeadline(time.Now().Add(timeout / 2))
	inner.left, inner.deadlines = nil, 0
	c.Write([]byte("answer"))
	if inner.deadlines != 1 {
		t.Errorf("a write with half the timeout left set the deadline %d times, want once", inner.deadlines)
	}
	checkLeft(t, inner.left, timeout)

	// Cleared (no deadline): set again before the next write.
	c.SetDeadline(time.Time{})
	inner.left, inner.deadlines = nil, 0
	c.Write([]byte("answer"))
	if inner.deadlines != 1 {
		t.Errorf("a write after the deadline was cleared set it %d times, want once", inner.deadlines)
	}
	checkLeft(t, inner.left, timeout)
}
