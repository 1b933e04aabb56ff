package statuspage

// spaceFacts are the Cache panel's lines about the cache's disk: whether
// it stores new answers, and its free space beside the reserve.
func spaceFacts(c CacheStats) []fact {
	writes := fact{"New answers", "stored"}
	if c.ReadOnly != "" {
		writes.Value = "not stored: read-only (" + c.ReadOnly + ")"
	}
	facts := []fact{writes}
	if c.ReserveBytes > 0 {
		facts = append(facts, fact{"Free space", formatBytes(max(c.FreeBytes, 0)) + " (reserve " + formatBytes(c.ReserveBytes) + ")"})
	}
	return facts
}

// spaceVerdict adds a read-only cache to the verdict: a warning, since
// answers are still served but zips that are not cached fail.
func spaceVerdict(c CacheStats, v *verdictView) {
	if c.ReadOnly == "" {
		return
	}
	if v.Class == "ok" {
		v.Class = "warn"
	}
	v.Details = append(v.Details, readOnlyText(c))
}

// readOnlyText says that the cache is read-only, why, and what it means.
func readOnlyText(c CacheStats) string {
	return "the cache is read-only (" + c.ReadOnly + "): new answers are served without being stored, and zips not yet cached get 503"
}
