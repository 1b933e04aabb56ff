package alert

import "time"

// Rule names a condition that the Engine watches.
type Rule string

// The rules; the package comment says when each holds.
const (
	UpstreamDown        Rule = "upstream_down"
	LatencyHigh         Rule = "latency_high"
	ErrorRateHigh       Rule = "error_rate_high"
	UpstreamQuarantined Rule = "upstream_quarantined"
	AllUpstreamsDown    Rule = "all_upstreams_down"
	SharedStoreDown     Rule = "shared_store_down"
)

// Severity says how urgent an alert is, P0 being the most urgent.
type Severity string

// The severities; the package comment says which alert has which.
const (
	P0 Severity = "P0"
	P1 Severity = "P1"
	P2 Severity = "P2"
)

// State is where an alert stands in its life.
type State string

// The states of an alert.
const (
	// Inactive: the condition does not hold. Only transitions show it.
	Inactive State = "inactive"
	// Pending: the condition holds, but not yet for Config.For.
	Pending State = "pending"
	// Firing: the condition has held for Config.For and still holds.
	Firing State = "firing"
	// Resolved: the condition held long enough to fire, and cleared.
	Resolved State = "resolved"
)

// Alert is one rule's verdict on one upstream, or on the whole pool.
type Alert struct {
	// Rule is the rule that holds, or held.
	Rule Rule
	// Upstream is the upstream's Name, or empty for a rule about the whole
	// pool (all_upstreams_down); for shared_store_down, the shared store's
	// name.
	Upstream string
	// Severity is how urgent it is.
	Severity Severity
	// State is where it stands, and Since when.
	State State
	Since time.Time
	// ActiveAt is when the condition began to hold (the alert went pending).
	ActiveAt time.Time
	// FiredAt is when it began firing; zero if it has not.
	FiredAt time.Time
	// ResolvedAt is when it was resolved; zero if it has not been.
	ResolvedAt time.Time
	// Value is the figure the rule judged at the latest evaluation at which
	// the condition held, and Threshold what it was compared with; the
	// package comment gives each rule's units.
	Value, Threshold float64
	// Summary says in a sentence what was wrong at that evaluation, for
	// people.
	Summary string
}

// Transition is an alert moving from one state to another.
type Transition struct {
	// Alert is the alert after the move.
	Alert Alert
	// From and To are the states before and after.
	From, To State
	// At is when it happened: the time of the evaluation.
	At time.Time
}

// key identifies an alert's state machine: one per rule and upstream.
type key struct {
	rule     Rule
	upstream string
}
