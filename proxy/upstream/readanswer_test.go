package upstream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/protocol"
)

// tricklingBody yields one byte per tick until closed; Close unblocks a Read.
type tricklingBody struct {
	tick   time.Duration
	closed chan struct{}
}

func (t *tricklingBody) Read(p []byte) (int, error) {
	select {
	case <-t.closed:
		return 0, errors.New("closed")
	case <-time.After(t.tick):
		p[0] = 'v'
		return 1, nil
	}
}

func (t *tricklingBody) Close() error {
	select {
	case <-t.closed:
	default:
		close(t.closed)
	}
	return nil
}

// TestReadAnswerAppliesTheFloors: an answer read from elsewhere than a
// mirror is abandoned, and its source closed, under the slow-body floor
// and the idle timeout, as a mirror's is; a good one passes the body
// checks, and a bad one fails them as bad_body.
func TestReadAnswerAppliesTheFloors(t *testing.T) {
	req, err := protocol.ParseRequest("/example.com/m/@v/list")
	if err != nil {
		t.Fatal(err)
	}
	c := New(Config{MinBodyRate: 1 << 20, BodyGrace: 50 * time.Millisecond, IdleTimeout: 200 * time.Millisecond})
	for _, tt := range []struct {
		name  string
		tick  time.Duration
		grace time.Duration
		want  health.FailureKind
	}{
		{"trickling", 10 * time.Millisecond, 50 * time.Millisecond, health.FailSlowBody},
		{"stalled", time.Hour, time.Hour, health.FailTimeout},
	} {
		c := New(Config{MinBodyRate: 1 << 20, BodyGrace: tt.grace, IdleTimeout: 200 * time.Millisecond})
		body := &tricklingBody{tick: tt.tick, closed: make(chan struct{})}
		resp := c.ReadAnswer(context.Background(), "store", req, body, -1, nil)
		if resp.Err == nil || resp.Outcome.Failure != tt.want {
			t.Errorf("%s body: err %v, failure %q, want %q", tt.name, resp.Err, resp.Outcome.Failure, tt.want)
		}
		select {
		case <-body.closed:
		default:
			t.Errorf("%s body: the source was not closed", tt.name)
		}
	}
	if resp := c.ReadAnswer(context.Background(), "store", req, io.NopCloser(bytes.NewReader([]byte("v1.0.0\n"))), 7, nil); resp.Err != nil || string(resp.Body) != "v1.0.0\n" {
		t.Errorf("a good list: %q, %v", resp.Body, resp.Err)
	}
	if resp := c.ReadAnswer(context.Background(), "store", req, io.NopCloser(bytes.NewReader([]byte("<html>\n"))), 7, nil); resp.Outcome.Failure != health.FailBadBody {
		t.Errorf("an HTML list: failure %q, want bad_body (%v)", resp.Outcome.Failure, resp.Err)
	}
}
