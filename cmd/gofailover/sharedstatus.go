package main

import (
	"github.com/gofailover/gofailover/health/alert"
	"github.com/gofailover/gofailover/proxy/metrics"
	"github.com/gofailover/gofailover/proxy/sharedtier"
	"github.com/gofailover/gofailover/proxy/statuspage"
)

// sharedSource returns tier as the source of the shared store's metrics
// and status: nil, a nil interface rather than a nil *sharedtier.Tier in
// one, when no shared store is configured.
func sharedSource(tier *sharedtier.Tier) metrics.SharedStore {
	if tier == nil {
		return nil
	}
	return tier
}

// sharedHealth returns the shared store's health for the alert engine's
// shared_store_down: nil when no shared store is configured.
func sharedHealth(tier *sharedtier.Tier) alert.Source {
	if tier == nil {
		return nil
	}
	return tier.Pool()
}

// sharedStoreRow is the status report's shared store, from what its tier
// says: its health as its breaker sees it, and what this replica did
// with it since it started.
func sharedStoreRow(name string, st sharedtier.Stats) *statuspage.SharedStore {
	return &statuspage.SharedStore{
		Name:         name,
		Health:       pageHealth(st.Health),
		Hits:         st.Hits,
		Misses:       st.Misses,
		Errors:       st.Errors,
		Bypassed:     st.Bypassed,
		Abandoned:    st.Abandoned,
		BytesRead:    st.BytesRead,
		BytesWritten: st.BytesWritten,
		Uploads: statuspage.SharedUploads{
			Uploaded: st.Uploaded, Present: st.Present, Failed: st.Failed, Dropped: st.Dropped, Queue: st.Queue,
		},
		CorruptObjects: st.Corrupt,
	}
}
