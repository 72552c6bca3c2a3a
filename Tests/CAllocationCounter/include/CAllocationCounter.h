// Counts heap allocations made by the calling thread, swift-nio style: this library defines malloc, calloc and
// realloc for the whole test process, counts them per thread and forwards to glibc's own implementations.
#pragma once
#include <stdint.h>

/// Allocations (malloc, calloc, realloc) made by the calling thread since it started.
int64_t enrich_thread_allocations(void);
