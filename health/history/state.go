package history

import "github.com/gofailover/gofailover/health"

// stateCode is a health.State as stored: its order is how bad the state
// is, so that the worst of two is the larger.
type stateCode uint8

// The state codes. Their values are part of the stored format.
const (
	codeUnknown stateCode = iota
	codeHealthy
	codeDegraded
	codeHalfOpen
	codeOpen
	codeQuarantined
	maxStateCode = codeQuarantined
)

// codeOf returns the code of s, codeUnknown for a state not listed.
func codeOf(s health.State) stateCode {
	switch s {
	case health.StateHealthy:
		return codeHealthy
	case health.StateDegraded:
		return codeDegraded
	case health.StateHalfOpen:
		return codeHalfOpen
	case health.StateOpen:
		return codeOpen
	case health.StateQuarantined:
		return codeQuarantined
	}
	return codeUnknown
}

// state returns the health.State of c.
func (c stateCode) state() health.State {
	switch c {
	case codeHealthy:
		return health.StateHealthy
	case codeDegraded:
		return health.StateDegraded
	case codeHalfOpen:
		return health.StateHalfOpen
	case codeOpen:
		return health.StateOpen
	case codeQuarantined:
		return health.StateQuarantined
	}
	return ""
}
