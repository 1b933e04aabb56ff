// Package pre is a fixture module published only as a prerelease.
package pre

// Candidate reports whether this is a release candidate.
func Candidate() bool { return true }
