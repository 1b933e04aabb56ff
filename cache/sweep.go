package cache

import (
	"encoding/hex"
	"os"
	"path/filepath"
)

// sweepBlobs removes the blob files no record refers to: those of deleted
// or replaced records, and those a crash left between a blob's rename into
// place and its record's commit. Open calls it, holding the directory lock
// and before any write, so no blob can be on its way to a record. Only
// files named as blobs are touched; failures are logged, never fatal.
func (s *Store) sweepBlobs(referenced map[[32]byte]struct{}) {
	dirs, err := os.ReadDir(s.blobDir)
	if err != nil {
		s.log.Warn("cache: cannot list blobs to remove unused ones", "dir", s.blobDir, "err", err)
		return
	}
	var removed, bytes int64
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue
		}
		dir := filepath.Join(s.blobDir, d.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			s.log.Warn("cache: cannot list blobs to remove unused ones", "dir", dir, "err", err)
			continue
		}
		for _, f := range files {
			sum, ok := blobName(d.Name(), f.Name())
			if !ok || f.IsDir() {
				continue
			}
			if _, used := referenced[sum]; used {
				continue
			}
			info, _ := f.Info()
			if err := os.Remove(filepath.Join(dir, f.Name())); err != nil {
				s.log.Warn("cache: cannot remove an unused blob", "file", filepath.Join(dir, f.Name()), "err", err)
				continue
			}
			removed++
			if info != nil {
				bytes += info.Size()
			}
		}
	}
	if removed > 0 {
		s.log.Info("cache: removed blob files no record refers to", "files", removed, "bytes", bytes)
	}
}

// blobName returns the digest a blob file in subdirectory dir is named
// after, and whether name is a blob's name there at all.
func blobName(dir, name string) ([32]byte, bool) {
	var sum [32]byte
	if len(name) != 2*len(sum) || name[:2] != dir {
		return sum, false
	}
	if _, err := hex.Decode(sum[:], []byte(name)); err != nil {
		return sum, false
	}
	return sum, hex.EncodeToString(sum[:]) == name // lower case only
}
