package cache

// sizeStats returns the part of s.Stats() that counts what the store
// holds, for comparisons that the upkeep's counters would upset.
func sizeStats(s *Store) Stats {
	st := s.Stats()
	return Stats{Entries: st.Entries, Bytes: st.Bytes}
}
