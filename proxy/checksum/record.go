package checksum

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/tlog"
)

// checkLookupRecord checks that data, read for the database path path,
// is a record of the module version path looks up when path is a lookup.
// sumdb.Client checks that a record is in the database, not that it is
// the one asked for: another module's genuine record, served for this
// lookup by a source (a mirror, the shared store), would pass, be cached
// as verified, and make the module "not in the checksum database".
func checkLookupRecord(path string, data []byte) error {
	target, ok := strings.CutPrefix(path, "/lookup/")
	if !ok {
		return nil
	}
	i := strings.LastIndex(target, "@")
	if i < 0 {
		return fmt.Errorf("lookup path %s names no version", path)
	}
	mod, err := module.UnescapePath(target[:i])
	if err != nil {
		return fmt.Errorf("lookup path %s: %w", path, err)
	}
	version, err := module.UnescapeVersion(target[i+1:])
	if err != nil {
		return fmt.Errorf("lookup path %s: %w", path, err)
	}
	_, text, _, err := tlog.ParseRecord(data)
	if err != nil {
		return fmt.Errorf("not a lookup record: %w", err)
	}
	for line := range strings.SplitSeq(string(text), "\n") {
		if strings.HasPrefix(line, mod+" "+version+" ") || strings.HasPrefix(line, mod+" "+version+"/go.mod ") {
			return nil
		}
	}
	return fmt.Errorf("%w: it is not the record of %s@%s", errWrongRecord, mod, version)
}

// errWrongRecord reports a lookup answer that holds another record than
// the one its path names.
var errWrongRecord = errors.New("the lookup answer holds another record")
