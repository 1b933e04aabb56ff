package mirrortest

import (
	"io"
	"log"
	"net"
	"net/http"
	"testing"
)

// ClosedURL returns the http URL of a 127.0.0.1 port nothing listens on: a
// mirror that refuses connections.
func ClosedURL(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

// HangUp is a handler that closes the connection without an answer.
func HangUp(w http.ResponseWriter, _ *http.Request) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
	}
}

// QuietLog is a logger for test servers that discards what they log, such
// as the errors of the connections a test breaks on purpose.
func QuietLog() *log.Logger { return log.New(io.Discard, "", 0) }
