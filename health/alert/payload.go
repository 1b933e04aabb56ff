package alert

import (
	"math"
	"time"
)

// PayloadVersion is the version of the Payload schema.
const PayloadVersion = 1

// Payload is the JSON body Webhook POSTs for one transition; the package
// comment shows an example. Times are UTC.
type Payload struct {
	// Version is PayloadVersion.
	Version int `json:"version"`
	// Source is always "gofailover".
	Source string `json:"source"`
	// Status is the alert's new state: "firing" or "resolved".
	Status State `json:"status"`
	// From and To are the states before and after the transition.
	From State `json:"from"`
	To   State `json:"to"`
	// Rule, Severity and Upstream say which alert it is; Upstream is
	// empty for all_upstreams_down.
	Rule     Rule     `json:"rule"`
	Severity Severity `json:"severity"`
	Upstream string   `json:"upstream"`
	// Value and Threshold are Alert.Value and Alert.Threshold.
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// Summary says what is, or was, wrong.
	Summary string `json:"summary"`
	// ActiveAt is when the condition began to hold.
	ActiveAt time.Time `json:"active_at"`
	// StartsAt is when the alert began firing; omitted if it never did.
	StartsAt time.Time `json:"starts_at,omitzero"`
	// EndsAt is when it was resolved; omitted while it is firing.
	EndsAt time.Time `json:"ends_at,omitzero"`
	// At is when the transition happened.
	At time.Time `json:"at"`
}

// NewPayload returns the Payload describing t.
func NewPayload(t Transition) Payload {
	a := t.Alert
	return Payload{
		Version:   PayloadVersion,
		Source:    "gofailover",
		Status:    t.To,
		From:      t.From,
		To:        t.To,
		Rule:      a.Rule,
		Severity:  a.Severity,
		Upstream:  a.Upstream,
		Value:     finite(a.Value),
		Threshold: finite(a.Threshold),
		Summary:   a.Summary,
		ActiveAt:  utc(a.ActiveAt),
		StartsAt:  utc(a.FiredAt),
		EndsAt:    utc(a.ResolvedAt),
		At:        utc(t.At),
	}
}

// utc returns t in UTC, or the zero time if t is zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// finite returns v, or 0 if it is NaN or infinite, which JSON cannot carry.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
