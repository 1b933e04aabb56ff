package upstream

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// maxHeaderBytes bounds an upstream's response header.
const maxHeaderBytes = 64 << 10

// defaultResolver resolves redirect targets.
var defaultResolver = net.DefaultResolver

// newTransport returns the transport upstream requests use: the
// environment's HTTP proxy settings, keep-alive connections, the connect
// and first-byte timeouts, and a dialer that enforces the redirect
// policy's public-address rule at connection time.
func newTransport(connect, firstByte time.Duration) *http.Transport {
	plain := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	public := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second, ControlContext: refuseNonPublic}
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if want, _ := ctx.Value(publicOnlyKey{}).(string); want != "" && want == addr {
				return public.DialContext(ctx, network, addr)
			}
			return plain.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   connect,
		ResponseHeaderTimeout: firstByte,
		// A mirror's header is a few hundred bytes; a hostile one must
		// not hold megabytes of memory per request.
		MaxResponseHeaderBytes: maxHeaderBytes,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        90 * time.Second,
	}
}

// refuseNonPublic fails a connection to an address that is not public.
func refuseNonPublic(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("redirect target address %q: %w", address, err)
	}
	if !isPublic(ap.Addr()) {
		return fmt.Errorf("redirect target resolved to the non-public address %s", ap.Addr())
	}
	return nil
}
