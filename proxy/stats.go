package proxy

import (
	"io"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/gofailover/gofailover/proxy/checksum"

	"github.com/gofailover/gofailover/proxy/protocol"
)

// Stats counts what a Handler has done since it was created.
type Stats struct {
	// Requests counts the requests answered on the protocol paths, by
	// kind, status class and cache result; only combinations that
	// occurred are listed.
	Requests []RequestCount
	// SharedFetches counts requests whose upstream fetch was shared with
	// concurrent requests for the same answer (each of them counts).
	SharedFetches uint64
	// UpstreamAttempts counts requests sent to upstreams for answers,
	// hedges included (the verifier's checksum-database reads are not).
	UpstreamAttempts uint64
	// Hedges counts the attempts sent because an earlier attempt for the
	// same answer had not started answering within its hedge delay;
	// HedgesWon counts those that served the answer.
	Hedges, HedgesWon uint64
	// Lookups counts the checksum-database lookups by result; zero when
	// verification is off.
	Lookups checksum.LookupStats
	// Prefetch counts what prefetching did; zero when it is off.
	Prefetch PrefetchStats
}

// RequestCount is the number of requests of one kind, status class and
// cache result.
type RequestCount struct {
	// Kind is a Kind's name, or "invalid" for a request that did not
	// parse.
	Kind string
	// Class is the status class: "2xx", "3xx", "4xx" or "5xx".
	Class string
	// Cache is where the answer came from: "hit", "miss", "stale", or
	// "none" for an error answer that came from neither.
	Cache string
	Count uint64
}

// The dimensions of the request counts.
const (
	kindInvalid = protocol.Kind(protocol.KindSumDB + 1) // a request that did not parse
	numKinds    = int(kindInvalid) + 1
	numClasses  = 4 // 2xx to 5xx
)

// cacheResult says where an answer came from, for the request counts.
type cacheResult uint8

const (
	resultNone cacheResult = iota
	resultHit
	resultMiss
	resultStale
	numResults
)

// String names the cache result as the request counts do.
func (r cacheResult) String() string {
	return [numResults]string{"none", "hit", "miss", "stale"}[r]
}

// handlerStats holds a Handler's counters. All are atomic: counting costs
// the serving path a few uncontended additions.
type handlerStats struct {
	requests                    [numKinds][numClasses][numResults]atomic.Uint64
	shared                      atomic.Uint64
	attempts, hedges, hedgesWon atomic.Uint64
}

// request counts one answered request.
func (s *handlerStats) request(k protocol.Kind, status int, r cacheResult) {
	class := status/100 - 2
	if class < 0 || class >= numClasses {
		class = numClasses - 1 // a status outside 2xx–5xx is not sent
	}
	s.requests[k][class][r].Add(1)
}

// attempt counts one upstream attempt, hedged or not.
func (s *handlerStats) attempt(hedged bool) {
	s.attempts.Add(1)
	if hedged {
		s.hedges.Add(1)
	}
}

// hedgeWon counts a hedge that served the answer.
func (s *handlerStats) hedgeWon() { s.hedgesWon.Add(1) }

// Stats returns the handler's counters.
func (h *Handler) Stats() Stats {
	st := Stats{
		SharedFetches:    h.stats.shared.Load(),
		UpstreamAttempts: h.stats.attempts.Load(),
		Hedges:           h.stats.hedges.Load(),
		HedgesWon:        h.stats.hedgesWon.Load(),
		Prefetch:         h.PrefetchStats(),
	}
	for k := range numKinds {
		for c := range numClasses {
			for r := range numResults {
				if n := h.stats.requests[k][c][r].Load(); n > 0 {
					name := protocol.Kind(k).String()
					if protocol.Kind(k) == kindInvalid {
						name = "invalid"
					}
					class := strconv.Itoa(c+2) + "xx"
					st.Requests = append(st.Requests, RequestCount{Kind: name, Class: class, Cache: cacheResult(r).String(), Count: n})
				}
			}
		}
	}
	if h.sums != nil {
		st.Lookups = h.sums.Stats()
	}
	return st
}

// countingWriter notes the status and cache result of a response, for the
// request counts. It keeps what the server's ResponseWriter offers that
// serving relies on: ReadFrom, which sends cached files with sendfile, and
// Unwrap for http.ResponseController.
type countingWriter struct {
	http.ResponseWriter
	status int
	result cacheResult
}

// WriteHeader notes the status and writes it.
func (w *countingWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write notes an implicit 200 and writes p.
func (w *countingWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// ReadFrom notes an implicit 200 and copies r with the underlying
// writer's ReadFrom.
func (w *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(w.ResponseWriter, r)
}

// Unwrap returns the underlying ResponseWriter.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// noteResult records where the answer written to w came from, when w is
// counting.
func noteResult(w http.ResponseWriter, source string) {
	cw, ok := w.(*countingWriter)
	if !ok {
		return
	}
	switch source {
	case cacheHit:
		cw.result = resultHit
	case cacheMiss, cacheShared:
		cw.result = resultMiss
	case cacheStale:
		cw.result = resultStale
	}
}
