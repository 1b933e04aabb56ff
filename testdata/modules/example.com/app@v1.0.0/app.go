// Package app is a fixture module that depends on other fixtures.
package app

import (
	"example.com/Upper/Case"
	"example.com/lib"
)

// Describe names the fixtures this module was built with.
func Describe() string { return Case.Name() + " " + lib.Version() }

// Sixteen returns sixteen times n.
func Sixteen(n int) int { return lib.Quadruple(lib.Quadruple(n)) }
