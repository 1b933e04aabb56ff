// Package lib is a fixture module for gofailover's tests.
package lib

// Version reports the version of this fixture.
func Version() string { return "v1.0.0" }
