#ifndef CPREFETCH_H
#define CPREFETCH_H

#include <stddef.h>

// Software prefetch for the lookup pipeline (ModelCache): a batch of keys is hashed first and the cache lines
// each later step will read are requested ahead, so the misses of many keys overlap instead of following one
// another. `__builtin_prefetch` has no Swift spelling; a static inline function compiles to one instruction
// (prefetcht0) at the call site. A prefetch never faults, so any address may be passed.

static inline void enrich_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// Backs the 2 MiB-aligned part of `[address, address + length)` with transparent huge pages, now:
/// `madvise(MADV_COLLAPSE)` (Linux 6.1 and later) copies the memory into huge pages in place, keeping its
/// contents and addresses. A snapshot's columns are read at random rows; with 4 KiB pages nearly every read of a
/// large column also misses the TLB (a page walk, nested under a hypervisor), with 2 MiB pages the whole cache
/// fits in the TLB. Returns the bytes now in huge pages, 0 when the range holds no whole huge page, or -errno
/// (EINVAL: the kernel lacks MADV_COLLAPSE or transparent huge pages are off; EAGAIN or ENOMEM: no huge page
/// was free). On failure the range is marked MADV_HUGEPAGE, so khugepaged may still collapse it later.
long enrich_huge_pages(const void *address, size_t length);

#endif
