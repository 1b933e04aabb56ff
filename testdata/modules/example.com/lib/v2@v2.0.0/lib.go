// Package lib is a fixture module (major version 2) for gofailover's tests.
package lib

// Version reports the version of this fixture.
func Version() string { return "v2.0.0" }
