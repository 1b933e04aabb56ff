// Package util is a fixture module for gofailover's tests.
package util

// Double returns twice n.
func Double(n int) int { return 2 * n }
