// Package Case is a fixture module whose path has capital letters.
package Case

// Name returns the module's path.
func Name() string { return "example.com/Upper/Case" }
