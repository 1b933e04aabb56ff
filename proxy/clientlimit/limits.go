package clientlimit

// Bounds of DefaultMaxConns.
const (
	// fileReserve is the descriptors kept, beyond a quarter of the limit,
	// for what is not a client connection: the listener, Badger's files,
	// cached files being sent, upstream connections and temporary files.
	fileReserve     = 64
	minDefaultConns = 16
	maxDefaultConns = 16384
)

// DefaultMaxConns is the connection cap for a process allowed fds open
// files: three quarters of them less 64, so that a quarter and 64 are left
// for the store, the files being sent and the upstreams; at least 16, and
// at most 16384 (about 400 MB of connections at worst), also when fds is 0
// (unknown).
func DefaultMaxConns(fds uint64) int {
	if fds == 0 || fds/4*3 > maxDefaultConns+fileReserve {
		return maxDefaultConns
	}
	return max(int(fds/4*3)-fileReserve, minDefaultConns)
}

// FileLimit is the process's limit on open files.
type FileLimit struct {
	// Soft is the limit in force; Hard is the most it can be raised to.
	Soft, Hard uint64
	// Before is the soft limit before RaiseFileLimit raised it.
	Before uint64
}
