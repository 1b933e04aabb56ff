package cache

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The crash test re-executes this test binary as a child that writes entries
// until the parent kills it with SIGKILL, then checks what survived.
const (
	crashDirEnv   = "GOFAILOVER_CACHE_CRASH_DIR"
	crashRoundEnv = "GOFAILOVER_CACHE_CRASH_ROUND"
	// crashRounds is how many children are started and killed.
	crashRounds = 9
	// crashChildLife bounds a child that nobody kills.
	crashChildLife = 30 * time.Second
)

// crashContent returns the deterministic body of key: its size and bytes come
// from an AES-CTR stream keyed with the key's SHA-256 (fast even under -race). Keys starting "blob/"
// get 1-4 MiB, "mid/" 64-192 KiB, anything else up to 3000 bytes.
func crashContent(key string) []byte {
	seed := sha256.Sum256([]byte(key))
	n := int(binary.LittleEndian.Uint32(seed[:4]))
	switch {
	case strings.Contains(key, "blob/"):
		n = 1<<20 + n%(3<<20)
	case strings.Contains(key, "mid/"):
		n = 64<<10 + n%(128<<10)
	default:
		n %= 3000
	}
	block, err := aes.NewCipher(seed[:])
	if err != nil {
		panic(err)
	}
	b := make([]byte, n)
	cipher.NewCTR(block, seed[:aes.BlockSize]).XORKeyStream(b, b)
	return b
}

// TestCrashChild is the child half of TestCrash; it is skipped unless run by it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrash only")
	}
	round := os.Getenv(crashRoundEnv)
	s, err := Open(Options{Reserve: testReserve, Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ack := func(key string) { fmt.Printf("ACK %s\n", key) }
	deadline := time.Now().Add(crashChildLife)
	for i := 0; time.Now().Before(deadline); i++ {
		key := fmt.Sprintf("r%s/blob/%04d", round, i)
		body := crashContent(key)
		b, err := s.NewBlob()
		if err != nil {
			t.Fatal(err)
		}
		const chunk = 128 << 10
		for off := 0; off < len(body); off += chunk {
			if _, err := b.Write(body[off:min(off+chunk, len(body))]); err != nil {
				t.Fatal(err)
			}
			if off == chunk*4 {
				fmt.Printf("WRITING %s\n", key)
			}
		}
		if _, err := s.CommitBlob(key, Meta{Status: 200, Immutable: true, Upstream: "crash"}, b); err != nil {
			t.Fatal(err)
		}
		ack(key)

		small := []string{fmt.Sprintf("r%s/small/%04d", round, i), fmt.Sprintf("shared/small/%02d", i%10)}
		if i%3 == 0 {
			small = append(small, fmt.Sprintf("r%s/mid/%04d", round, i))
		}
		for _, k := range small {
			if err := s.PutBytes(k, Meta{Status: 200, Upstream: "crash"}, crashContent(k)); err != nil {
				t.Fatal(err)
			}
			ack(k)
		}
	}
	t.Fatal("nobody killed the child")
}

// crashRound runs one child and kills it according to mode, returning the
// keys it acknowledged and how it was killed.
func crashRound(t *testing.T, dir string, round int, rng *rand.Rand) (acked []string, how string) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, fmt.Sprintf("%s=%d", crashRoundEnv, round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, out)
	}()

	// Three ways to pick the moment: after a delay (which may fall during
	// Open); just after a blob write is reported half done; or a moment
	// after some acknowledgement.
	var (
		timer      <-chan time.Time
		killOnLine func(string) bool
		seen       int
	)
	switch round % 3 {
	case 0:
		d := time.Duration(20+rng.IntN(1500)) * time.Millisecond
		how = fmt.Sprintf("after %v", d)
		timer = time.After(d)
	case 1:
		n := 1 + rng.IntN(4)
		how = fmt.Sprintf("during blob write #%d", n)
		killOnLine = func(l string) bool {
			if strings.HasPrefix(l, "WRITING ") {
				seen++
			}
			return seen == n
		}
	case 2:
		n := 1 + rng.IntN(30)
		d := time.Duration(rng.IntN(15)) * time.Millisecond
		how = fmt.Sprintf("%v after ack #%d", d, n)
		killOnLine = func(l string) bool {
			if strings.HasPrefix(l, "ACK ") {
				seen++
			}
			if seen == n {
				time.Sleep(d)
				return true
			}
			return false
		}
	}
	safety := time.After(crashChildLife / 2)
	killed := false
	kill := func() {
		if !killed {
			killed = true
			if err := cmd.Process.Kill(); err != nil {
				t.Errorf("killing child: %v", err)
			}
		}
	}
	for lines != nil {
		select {
		case l, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			if k, found := strings.CutPrefix(l, "ACK "); found {
				acked = append(acked, k)
			}
			if killOnLine != nil && killOnLine(l) {
				kill()
			}
		case <-timer:
			kill()
		case <-safety:
			kill()
			t.Errorf("round %d: child never reached its kill point", round)
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("round %d: child exited by itself (%v):\n%s", round, err, stderr.String())
	}
	return acked, how
}

// TestCrash kills a writing child process at varied moments, then checks that
// the store opens, keeps every acknowledged entry, and serves only complete,
// correct bodies.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	var acked []string
	checker := &crashChecker{want: map[string][32]byte{}, verified: map[string][32]byte{}}
	start := time.Now()
	for round := range crashRounds {
		got, how := crashRound(t, dir, round, rng)
		acked = append(acked, got...)

		logs := &logBuffer{}
		s, err := Open(Options{Reserve: testReserve, Dir: dir, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatalf("round %d (killed %s): reopen: %v", round, how, err)
		}
		if ents, err := os.ReadDir(filepath.Join(dir, "tmp")); err != nil || len(ents) != 0 {
			t.Errorf("round %d: tmp holds %d entries after Open (%v)", round, len(ents), err)
		}
		for _, k := range acked {
			if _, err := s.Lookup(k); err != nil {
				t.Errorf("round %d (killed %s): acknowledged %q: %v", round, how, k, err)
			}
		}
		present := 0
		err = s.Walk("", func(e Entry) error {
			present++
			checker.check(t, s, e)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Entries != int64(present) {
			t.Errorf("round %d: Stats %+v but Walk saw %d entries", round, st, present)
		}
		if strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("round %d: reopen logged:\n%s", round, logs)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed %s; %d acknowledged this round, %d entries present", round, how, len(got), present)
	}
	t.Logf("%d rounds in %v", crashRounds, time.Since(start).Round(time.Millisecond))
}

// crashChecker verifies entries against their deterministic content. Bodies
// are read in full the first time a key is seen with a given digest; after
// that (blob files are immutable once in place) Open's own size check is
// enough, which keeps the test's cost linear in what was written.
type crashChecker struct {
	want     map[string][32]byte // key -> SHA-256 of its deterministic content
	verified map[string][32]byte // key -> digest whose body was read and matched
}

func (c *crashChecker) check(t *testing.T, s *Store, e Entry) {
	t.Helper()
	want, ok := c.want[e.Key]
	if !ok {
		body := crashContent(e.Key)
		if e.Size != int64(len(body)) {
			t.Errorf("%q: record says %d bytes, want %d", e.Key, e.Size, len(body))
			return
		}
		want = sha256.Sum256(body)
		c.want[e.Key] = want
	}
	if e.SHA256 != want {
		t.Errorf("%q: record has sha256 %x, want %x", e.Key, e.SHA256, want)
		return
	}
	o, err := s.Open(e.Key)
	if err != nil {
		t.Errorf("%q: listed by Walk but Open says: %v", e.Key, err)
		return
	}
	defer o.Close()
	if f, ok := o.Body.(*os.File); ok && !strings.HasPrefix(f.Name(), s.blobDir+string(filepath.Separator)) {
		t.Errorf("%q: served from %s, not from blobs", e.Key, f.Name())
	}
	if c.verified[e.Key] == want {
		return
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, o.Body, make([]byte, 1<<20))
	if err != nil {
		t.Errorf("%q: reading: %v", e.Key, err)
		return
	}
	if n != e.Size || [32]byte(h.Sum(nil)) != want {
		t.Errorf("%q: body of %d bytes differs from the %d written", e.Key, n, e.Size)
		return
	}
	c.verified[e.Key] = want
}
