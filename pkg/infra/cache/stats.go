package cache

import "sync/atomic"

// Counters are the lookups of one kind since the Cache was created, in this process only.
type Counters struct {
	LocalHits  uint64 // served from process memory, without asking Redis
	RemoteHits uint64 // served by Redis
	Misses     uint64 // not cached (a remembered "not found" is a miss for Get, a hit for GetOrSet)
	Errors     uint64 // Redis could not be asked or answered with an error
}

// Hits returns LocalHits + RemoteHits.
func (c Counters) Hits() uint64 { return c.LocalHits + c.RemoteHits }

type counters struct {
	localHits, remoteHits, misses, errors atomic.Uint64
}

// Stats returns a snapshot of the counters of every kind.
func (c *Cache) Stats() map[Kind]Counters {
	out := make(map[Kind]Counters, kindCount-1)
	for _, k := range allKinds() {
		n := &c.counters[k]
		out[k] = Counters{
			LocalHits:  n.localHits.Load(),
			RemoteHits: n.remoteHits.Load(),
			Misses:     n.misses.Load(),
			Errors:     n.errors.Load(),
		}
	}
	return out
}

func (c *Cache) countHit(k Kind, local bool) {
	if local {
		c.counters[k].localHits.Add(1)
	} else {
		c.counters[k].remoteHits.Add(1)
	}
}

func (c *Cache) countMiss(k Kind) { c.counters[k].misses.Add(1) }
