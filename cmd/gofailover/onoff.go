package main

import (
	"fmt"
	"strings"
)

// onOff is a switch, written on or off (true/false, 1/0 and yes/no are
// taken too).
type onOff bool

// UnmarshalText parses a switch.
func (o *onOff) UnmarshalText(text []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(text))) {
	case "on", "true", "1", "yes":
		*o = true
	case "off", "false", "0", "no", "":
		*o = false
	default:
		return fmt.Errorf("%q is not on or off", text)
	}
	return nil
}
