// Package lib is a fixture module for gofailover's tests.
package lib

import "example.com/util"

// Version reports the version of this fixture.
func Version() string { return "v1.1.0" }

// Quadruple returns four times n.
func Quadruple(n int) int { return util.Double(util.Double(n)) }
