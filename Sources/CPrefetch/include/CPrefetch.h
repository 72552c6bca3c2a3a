#ifndef CPREFETCH_H
#define CPREFETCH_H

// Software prefetch for the lookup pipeline (ModelCache): a batch of keys is hashed first and the cache lines
// each later step will read are requested ahead, so the misses of many keys overlap instead of following one
// another. `__builtin_prefetch` has no Swift spelling; a static inline function compiles to one instruction
// (prefetcht0) at the call site. A prefetch never faults, so any address may be passed.

static inline void enrich_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

#endif
