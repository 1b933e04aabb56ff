package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
)

// manifestName is the name of Badger's manifest in its directory.
const manifestName = "MANIFEST"

// checkTables opens every table Badger's manifest in dir lists, as Badger
// will, but in this goroutine and with panics recovered, and verifies
// every block's checksum. Badger opens its tables in goroutines of its
// own, where a damaged table's panic (a truncated file, a flipped length)
// would end the process; found here, it is an error that sets the store
// aside. Tables the manifest does not list (left by a crash during a
// compaction) are Badger's to delete and are not read. A directory
// without a manifest is a new store.
func checkTables(dir string, opts badger.Options) error {
	fp, err := os.Open(filepath.Join(dir, manifestName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening the manifest in %s: %w", dir, err)
	}
	mf, _, err := replayManifest(fp, opts)
	fp.Close()
	if err != nil {
		return fmt.Errorf("reading the manifest in %s: %w", dir, short(err))
	}
	for id, tm := range mf.Tables {
		topts := table.Options{
			ChkMode:              options.OnTableRead,
			BlockSize:            opts.BlockSize,
			BloomFalsePositive:   opts.BloomFalsePositive,
			Compression:          tm.Compression,
			ZSTDCompressionLevel: opts.ZSTDCompressionLevel,
		}
		if err := checkTable(table.NewFilename(id, dir), topts); err != nil {
			return err
		}
	}
	return nil
}

// replayManifest reads Badger's manifest, turning a panic into an error.
func replayManifest(fp *os.File, opts badger.Options) (m badger.Manifest, off int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %s", panicText(r))
		}
	}()
	return badger.ReplayManifestFile(fp, opts.ExternalMagicVersion, opts)
}

// checkTable opens one table file read-only and verifies its checksums,
// turning a panic into an error.
func checkTable(path string, topts table.Options) (err error) {
	var mf *z.MmapFile
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading table %s: panic: %s", path, panicText(r))
			if mf != nil {
				_ = mf.Close(-1)
			}
		}
	}()
	mf, err = z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("opening table %s: %w", path, err)
	}
	if _, err := table.OpenTable(mf, topts); err != nil {
		_ = mf.Close(-1) // OpenTable closes it on some failures only
		return fmt.Errorf("reading table %s: %w", path, short(err))
	}
	// Not Table.DecrRef: dropping the last reference deletes the file.
	if err := mf.Close(-1); err != nil {
		return fmt.Errorf("closing table %s: %w", path, err)
	}
	return nil
}
