package health

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/semver"
)

// ParseVersionList returns the versions of an @v/list body, the first field
// of each non-empty line, sorted by semver and without duplicates. Lines
// that do not start with a valid version are left out.
func ParseVersionList(body []byte) []string {
	var out []string
	for line := range strings.SplitSeq(string(body), "\n") {
		if f := strings.Fields(line); len(f) > 0 && semver.IsValid(f[0]) {
			out = append(out, f[0])
		}
	}
	semver.Sort(out)
	return slices.Compact(out)
}

// MissingVersions returns the versions some list in others has and own
// lacks, sorted by semver. own and every list in others must be sorted as
// ParseVersionList sorts them.
func MissingVersions(own []string, others ...[]string) []string {
	var missing []string
	for _, list := range others {
		for _, v := range list {
			if _, found := slices.BinarySearchFunc(own, v, semver.Compare); !found {
				missing = append(missing, v)
			}
		}
	}
	semver.Sort(missing)
	return slices.Compact(missing)
}

// staleRounds is how many list probes in a row must miss versions another
// upstream lists before an upstream is called stale, so that a mirror a few
// seconds behind a fresh release is not.
const staleRounds = 2

// listBook keeps the latest @v/list of the probe module that each upstream
// answered, to tell a mirror that stopped updating (missing versions the
// others list) from the rest.
type listBook struct {
	maxAge time.Duration // a list older than this is not compared against

	mu    sync.Mutex
	lists map[*Upstream]seenList
}

// seenList is one upstream's latest list, how many probes in a row it
// missed versions that others listed, and whether it was found stale.
type seenList struct {
	versions []string
	at       time.Time
	behind   int
	stale    bool
}

// observe records u's list at now and returns the versions u lacks if u is
// stale: if it has missed versions another upstream listed (within maxAge)
// in staleRounds list probes in a row; nil otherwise. was says whether u
// was stale before.
func (b *listBook) observe(u *Upstream, versions []string, now time.Time) (missing []string, was bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lists == nil {
		b.lists = make(map[*Upstream]seenList)
	}
	var others [][]string
	for v, l := range b.lists {
		if v != u && now.Sub(l.at) <= b.maxAge {
			others = append(others, l.versions)
		}
	}
	prev := b.lists[u]
	missing = MissingVersions(versions, others...)
	seen := seenList{versions: versions, at: now}
	if len(missing) > 0 {
		seen.behind = prev.behind + 1
	}
	if seen.behind < staleRounds {
		missing = nil
	}
	seen.stale = len(missing) > 0
	b.lists[u] = seen
	return missing, prev.stale
}

// servedBook keeps, per probe path, when each upstream last served it
// (200), so that an upstream that says "not found" for what another serves
// is caught: misconfigured (a wrong base URL, expired credentials) or
// stale.
type servedBook struct {
	maxAge time.Duration // a 200 older than this is not compared against

	mu     sync.Mutex
	served map[string]map[*Upstream]time.Time
}

// observe records u's answer to path at now and, when it is a denial (403,
// 404 or 410) of what another upstream served within maxAge, returns that
// upstream.
func (b *servedBook) observe(u *Upstream, path string, status int, now time.Time) (servedBy *Upstream) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.served == nil {
		b.served = make(map[string]map[*Upstream]time.Time)
	}
	switch status {
	case http.StatusOK:
		if b.served[path] == nil {
			b.served[path] = make(map[*Upstream]time.Time)
		}
		b.served[path][u] = now
	case http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		for v, at := range b.served[path] {
			if v != u && now.Sub(at) <= b.maxAge && (servedBy == nil || v.Rank < servedBy.Rank) {
				servedBy = v
			}
		}
	}
	return servedBy
}
