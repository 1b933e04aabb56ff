package cache

import (
	"github.com/dgraph-io/badger/v4"
)

// The store's handle on Badger (Store.db) may be replaced while the store
// is in use: a store that start-up on a full disk opened read-only, or not
// at all, is reopened read-write once space returns (readonly.go). So,
// after Open, every use of Badger goes through these methods, which hold
// Store.dbMu for reading while they run; the swap holds it for writing.
// A function passed to them must not call them again (a waiting swap
// would deadlock it).
//
// Every write also passes the free-space gate first (space.go): Badger
// writes through memory maps, and a write on a full disk kills the
// process instead of failing.

// admit lets a write of about n bytes (a record's key and value) through
// the free-space gate, or returns a *SpaceError (which wraps ErrNoSpace)
// for the caller to wrap with what it was writing. Call it once before a
// write and its retries.
func (s *Store) admit(n int64) error {
	return s.space.admit(n + writeOverhead)
}

// dbView runs fn in a read-only Badger transaction.
func (s *Store) dbView(fn func(*badger.Txn) error) error {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	return s.db.View(fn)
}

// dbUpdate runs fn in a read-write Badger transaction. The write must have
// been let through by admit.
func (s *Store) dbUpdate(fn func(*badger.Txn) error) error {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	return s.db.Update(fn)
}

// withDB runs fn with Badger itself, for what transactions do not cover
// (the value-log garbage collection).
func (s *Store) withDB(fn func(*badger.DB) error) error {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	return fn(s.db)
}
