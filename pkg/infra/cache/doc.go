// Package cache keeps read-mostly data (exams, questions, profiles, results, lists) in Redis,
// shared by every API replica, with a bounded copy in each process's memory.
//
// # Two levels, kept coherent by Redis
//
// Reads use rueidis's server-assisted client-side caching (RESP3 CLIENT TRACKING): the first
// read of a key asks Redis, which remembers that this connection holds the key; later reads
// are answered from process memory with no round trip. When any client changes or deletes the
// key, or it expires, Redis sends this connection an invalidation and the local copy is
// dropped. A local copy never outlives the entry's TTL in Redis: rueidis reads the key's PTTL
// with the value and caps the local TTL by it. The local copies are bounded by
// Config.LocalCacheBytes (least recently used go first) and vanish when the connection drops,
// since invalidations may have been missed meanwhile.
//
// A Cache opens a single pipelined connection to Redis, so the local-cache bound is not
// divided. The same connection carries the writes, each followed by a PING: Redis delivers the
// write's invalidation to its own connection before the PING's reply, so a read that follows
// a write in the same process sees the write.
//
// # Topologies
//
// New takes one of three URLs:
//
//	redis://[[user]:password@]host:6379[/db]   (rediss:// for TLS, unix:// for a socket)
//	redis-sentinel://[[user]:password@]host1:26379[,host2:26379...][/db]?master=<name>
//	redis-cluster://[[user]:password@]host1:6379[,host2:6379...]
//
// With Sentinel the Cache asks the sentinels for the master (the password is the master's; a
// sentinel_password parameter authenticates to the sentinels), follows their +switch-master
// announcements and asks again every 5 seconds in case one was missed. A failover drops the
// connection and with it the local copies; calls fail until the new master answers, then the
// Cache recovers as from any outage.
//
// With Cluster rueidis keeps one connection per node and sends each key to the node that owns
// its slot; each connection has its own local cache and its own Config.LocalCacheBytes bound.
// A PING would go to an arbitrary node, so a write is followed by an EXISTS of its own key
// instead, which travels the write's connection; DeleteMany sends one DEL per key, as the keys
// hash to different slots. Clear needs no multi-key command: it increments the single
// generation key, whose node tells every process, and entries on any node become unreachable.
//
// Sentinel and Cluster clients learn the topology from a first answer, so when Redis is down
// at start New builds the client later, from the background probe.
//
// # Keys
//
// An entry of Key k lives at
//
//	<namespace>:g<generation>:<k>      e.g. oes:cache:g5f0c2a91d3e4b7c8:exam:42
//
// and the current generation at <namespace>:gen. The generation is read like an entry, so it
// is normally local too. Clear sets it to a new random value: every process's local copy of
// the generation is invalidated, later reads and writes use the new prefix, and the old
// entries are never read again and expire by their TTL. Clear is thus O(1), reaches every
// replica, and touches no key outside the namespace (the email queue shares the Redis). A
// generation is random, not counted, so none is ever used twice: when the generation key is
// missing (a new Redis, or the key was evicted or deleted) the first process to notice sets a
// new one, and entries cleared before are not brought back.
//
// # Values
//
// Each Redis value starts with a marker byte:
//
//	'v' <bytes>    a value, as given to Set
//	'n' <message>  a remembered "not found" (a tombstone), written by GetOrSet when its loader
//	               returns an oes.ENOTFOUND error; it lives Config.NotFoundTTL and carries the
//	               error's message
//
// Get reports a tombstone as a miss; GetOrSet returns it as an oes.ENOTFOUND error.
//
// # When Redis is down
//
// The cache fails open: Get reports a miss with an error, GetOrSet returns its loader's
// result, Set, Delete and Clear return an error. A write that fails (an invalidation above
// all) may leave Redis holding an entry older than the data, which Redis, back with its data
// after a partition, a restart from a snapshot or a failover, would serve for its whole TTL:
// so the Cache stops using Redis at once, and before it uses it again it moves to a new
// generation, so that no process reads an entry written before. Each failure is counted (Stats) and logged
// at most once per Config.ErrorLogInterval. After a connection failure the Cache stops asking
// Redis, so an outage costs requests nothing, and probes it in the background with
// exponential backoff (100ms up to 5s); when a probe succeeds the Cache uses Redis again.
// New behaves the same when Redis is down at start. Dials and unanswered connections give up
// after one second.
package cache
