#include "CPrefetch.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

long enrich_huge_pages(const void *address, size_t length) {
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)address + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)address + length) & ~(huge - 1);
    if (address == NULL || end <= start) return 0;
    if (madvise((void *)start, end - start, MADV_COLLAPSE) == 0) return (long)(end - start);
    long failure = -(long)errno;
    (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
    return failure;
}
