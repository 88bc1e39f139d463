package events

// Rebuild rebuilds what a mark names, as the feed's loop does (benchmarks).
func (f *Feed) Rebuild(kind, name string) { f.one(mark(kind, name)) }
