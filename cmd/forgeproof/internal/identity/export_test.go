package identity

// Forget drops raw from v's cache of verified tokens, so that the next
// call of Roles verifies it again.
func Forget(v *Verifier, raw string) {
	k := keyOf(raw)
	s := &v.cache.shards[k[0]%cacheShards]
	s.mu.Lock()
	delete(s.cur, k)
	delete(s.old, k)
	s.mu.Unlock()
}
