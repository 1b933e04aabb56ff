package clientlimit

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// recordingConn is a net.Conn whose ReadFrom records what it was given.
type recordingConn struct {
	net.Conn
	pieces    []int64 // N of each *io.LimitedReader given to ReadFrom
	files     int     // how many of them read an *os.File directly
	deadlines int
}

func (c *recordingConn) SetWriteDeadline(time.Time) error { c.deadlines++; return nil }

func (c *recordingConn) ReadFrom(r io.Reader) (int64, error) {
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
// with its own write deadline.
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
	if inner.files != 3 || inner.deadlines != 3 {
		t.Errorf("%d pieces read the file directly with %d deadlines, want 3 and 3", inner.files, inner.deadlines)
	}

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
