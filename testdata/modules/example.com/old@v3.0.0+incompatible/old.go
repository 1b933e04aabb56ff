// Package old is a fixture module with no go.mod, served as v3.0.0+incompatible.
package old

// Answer returns 42.
func Answer() int { return 42 }
