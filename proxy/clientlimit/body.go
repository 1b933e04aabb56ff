package clientlimit

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// Handler wraps next so that a request body, which next does not read, is
// thrown away before next runs: within Config.BodyTimeout and MaxDiscard
// bytes, after which the request is answered as usual and the connection
// kept. A longer body is answered 413, one that does not arrive in time
// 408, a malformed one 400, each closing the connection without reading
// more. While its body is thrown away, the connection may be closed to
// make room for others. A request without a body costs one comparison.
//
// Without this, the http.Server itself reads up to 256 KiB of an unread
// body, with no deadline, before it writes the answer's header, so that a
// client trickling a body holds its connection for ever.
func (l *Listener) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 && !l.discardBody(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// discardBody reads r's body to its end and throws it away. It reports
// whether the request may be answered; when not, it has answered it.
func (l *Listener) discardBody(w http.ResponseWriter, r *http.Request) bool {
	if r.ContentLength > MaxDiscard {
		l.stats.bodiesTooLarge.Add(1)
		l.noteOverload()
		refuseBody(w, http.StatusRequestEntityTooLarge, "request body too large: gofailover reads no request bodies")
		return false
	}
	rc := http.NewResponseController(w)
	timeout := l.cfg.BodyTimeout
	if timeout > 0 {
		// An error means the writer cannot set deadlines (not an
		// http.Server's): the body is then read without one.
		rc.SetReadDeadline(time.Now().Add(timeout))
	}
	c, _ := r.Context().Value(connKey{}).(*Conn)
	if c != nil {
		c.busy.Store(false) // waiting for the client: may be closed for room
		l.setIdle(c, true)
	}
	_, err := io.CopyN(io.Discard, r.Body, MaxDiscard+1)
	if c != nil {
		c.busy.Store(true)
		l.setIdle(c, false)
	}
	switch {
	case errors.Is(err, io.EOF):
		if timeout > 0 {
			rc.SetReadDeadline(time.Time{})
		}
		return true
	case err == nil: // a chunked body past the limit
		l.stats.bodiesTooLarge.Add(1)
		l.noteOverload()
		refuseBody(w, http.StatusRequestEntityTooLarge, "request body too large: gofailover reads no request bodies")
	case errors.Is(err, os.ErrDeadlineExceeded):
		l.stats.bodyTimeouts.Add(1)
		l.noteOverload()
		refuseBody(w, http.StatusRequestTimeout, "request body not received within "+timeout.String())
	default:
		refuseBody(w, http.StatusBadRequest, "unreadable request body")
	}
	return false
}

// refuseBody answers a request whose body was not read to its end, and
// closes the connection after the answer without reading more of it: the
// read deadline is set in the past, so that neither the server nor the
// request body waits for the rest.
func refuseBody(w http.ResponseWriter, status int, msg string) {
	http.NewResponseController(w).SetReadDeadline(time.Now())
	w.Header().Set("Connection", "close")
	http.Error(w, msg, status)
}
