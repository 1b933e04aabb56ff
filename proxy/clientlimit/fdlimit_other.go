//go:build !unix

package clientlimit

import "errors"

// RaiseFileLimit does nothing here: there is no open-file limit to raise.
func RaiseFileLimit() (FileLimit, error) {
	return FileLimit{}, errors.ErrUnsupported
}
