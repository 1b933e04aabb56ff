package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// This file is the hostile side of the connection-flood rig: a helper
// process (this test binary, running TestFloodHelper) that keeps hostile
// connections of five kinds open against a server, as an attacker on
// another machine would, so that its goroutines do not slow the clients
// whose hits are timed.

// hostileKind is a kind of hostile client.
type hostileKind int

const (
	// hostileSilent connects and sends nothing.
	hostileSilent hostileKind = iota
	// hostileKeepAlive makes one request, reads the answer and stays idle.
	hostileKeepAlive
	// hostileSlowHeader sends a request header a byte at a time.
	hostileSlowHeader
	// hostileSlowBody sends a whole header announcing a body, then the
	// body a byte at a time.
	hostileSlowBody
	// hostileNonReader asks for the big zip and reads nothing of the answer.
	hostileNonReader
	numHostileKinds
)

// String names the kind in the test's log.
func (k hostileKind) String() string {
	return [numHostileKinds]string{"silent", "keep-alive idle", "slow header", "slow body", "non-reader"}[k]
}

// floodHelperEnv holds the helper's order, as JSON.
const floodHelperEnv = "GOFAILOVER_TEST_FLOOD_HELPER"

// hostileReady is the line the helper prints once every hostile
// connection has been opened.
const hostileReady = "hostile connections open"

// hostileOrder is what the helper is to do.
type hostileOrder struct {
	// Addr is the server's host:port; Info and Zip the paths of a cached
	// .info and zip, ZipSize the zip's length.
	Addr, Info, Zip string
	ZipSize         int
	// Hostile, ReopenAfter and CloseWithin are floodSpec's.
	Hostile     [numHostileKinds]int
	ReopenAfter time.Duration
	CloseWithin [numHostileKinds]time.Duration
}

// hostileReport is what the hostile connections showed.
type hostileReport struct {
	// Lifetimes are, per kind, the times from opening a hostile
	// connection to the server closing it; Late counts those the server
	// had not closed within CloseWithin.
	Lifetimes [numHostileKinds][]time.Duration
	Late      [numHostileKinds]int
	// NonReaders is, per non-reader, how many bytes were waiting in its
	// socket when the flood ended, or -1 if the server had not closed it.
	NonReaders []int64
	// DialErrors counts hostile connections that could not be opened.
	DialErrors int
}

// TestFloodHelper is the flood's hostile side when run by flood (with
// floodHelperEnv set); otherwise it does nothing. It opens the hostile
// connections, prints hostileReady, keeps them open until its standard
// input closes, then prints its report as JSON.
func TestFloodHelper(t *testing.T) {
	orderJSON := os.Getenv(floodHelperEnv)
	if orderJSON == "" {
		return
	}
	var o hostileOrder
	if err := json.Unmarshal([]byte(orderJSON), &o); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var stdin sync.WaitGroup
	stdin.Go(func() {
		io.Copy(io.Discard, os.Stdin)
		close(stop)
	})
	rep := runHostiles(o, stop, func() { fmt.Println(hostileReady) })
	stdin.Wait()
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		t.Fatal(err)
	}
}

// runHostiles opens o's hostile connections over about a second (so that
// the server's accept queue does not overflow), calls ready half a second
// later, and keeps them open, reopening each the server closes, until stop
// is closed. It returns once every connection is closed.
func runHostiles(o hostileOrder, stop <-chan struct{}, ready func()) hostileReport {
	var rep hostileReport
	var mu sync.Mutex // guards rep
	var slots sync.WaitGroup
	total := 0
	for _, n := range o.Hostile {
		total += n
	}
	ramp := time.Second / time.Duration(max(total, 1))
	started := time.Now()
	i := 0
	for kind := range numHostileKinds {
		for range o.Hostile[kind] {
			delay := time.Duration(i) * ramp
			i++
			slots.Go(func() {
				select {
				case <-time.After(delay):
				case <-stop:
					return
				}
				if kind == hostileNonReader {
					n := nonReaderClient(o, stop)
					mu.Lock()
					rep.NonReaders = append(rep.NonReaders, n)
					mu.Unlock()
					return
				}
				for {
					life, closed, err := hostileClient(kind, o, o.CloseWithin[kind])
					mu.Lock()
					switch {
					case err != nil:
						rep.DialErrors++
					case closed:
						rep.Lifetimes[kind] = append(rep.Lifetimes[kind], life)
					default:
						rep.Late[kind]++
					}
					mu.Unlock()
					select {
					case <-stop:
						return
					case <-time.After(o.ReopenAfter):
					}
				}
			})
		}
	}
	time.Sleep(time.Until(started.Add(time.Second + 500*time.Millisecond)))
	ready()
	slots.Wait()
	return rep
}

// hostileClient opens one connection of kind, behaves as that kind does
// until the server closes the connection, and returns how long it was
// open. It gives up waiting (closed false) after closeWithin.
func hostileClient(kind hostileKind, o hostileOrder, closeWithin time.Duration) (time.Duration, bool, error) {
	c, err := net.DialTimeout("tcp", o.Addr, 10*time.Second)
	if err != nil {
		return 0, false, err
	}
	defer c.Close()
	opened := time.Now()
	giveUp := opened.Add(closeWithin)
	var trickle []byte // sent a byte at a time
	switch kind {
	case hostileKeepAlive:
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: flood\r\n\r\n", o.Info)
		c.SetReadDeadline(giveUp)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return time.Since(opened), true, nil // closed before answering: evicted
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	case hostileSlowHeader:
		trickle = []byte(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: flood\r\nX-Padding: %s\r\n\r\n", o.Info, strings.Repeat("p", 1000)))
	case hostileSlowBody:
		// Within the 64 KiB the server throws away, so that it waits for it.
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: flood\r\nContent-Length: 50000\r\n\r\n", o.Info)
		trickle = bytes.Repeat([]byte("b"), 50000)
	}
	buf := make([]byte, 4096)
	for {
		// Read until the server closes, or in steps of 500 ms, sending
		// the next byte to trickle after each.
		step := giveUp
		if len(trickle) > 0 {
			step = time.Now().Add(500 * time.Millisecond)
		}
		if step.After(giveUp) {
			step = giveUp
		}
		c.SetReadDeadline(step)
		_, err := c.Read(buf)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return time.Since(opened), true, nil
		}
		if time.Now().After(giveUp) {
			return time.Since(opened), false, nil
		}
		if len(trickle) > 0 && err != nil {
			if _, err := c.Write(trickle[:1]); err != nil {
				return time.Since(opened), true, nil
			}
			trickle = trickle[1:]
		}
	}
}

// nonReaderClient asks for the big zip on a connection with a small
// receive buffer and reads nothing until stop is closed. Then it reads
// what is waiting, and returns how many bytes that was if the server has
// closed the connection (having sent only part of the answer), or -1 if
// it had not (or had sent the whole answer).
func nonReaderClient(o hostileOrder, stop <-chan struct{}) int64 {
	// A receive buffer small enough that the server's writes block,
	// large enough for the window to reopen when it is finally read.
	d := net.Dialer{Timeout: 10 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 256<<10)
		})
	}}
	c, err := d.Dial("tcp", o.Addr)
	if err != nil {
		return -1
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: flood\r\n\r\n", o.Zip)
	<-stop
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) || n >= int64(o.ZipSize) {
		return -1 // still open, or the whole answer sent
	}
	return n // closed (EOF, or a reset) partway through
}
