import CPrefetch

extension ModelSnapshot {
    /// What `backWithHugePages()` did: the bytes now in 2 MiB pages, and the first error the kernel gave (an
    /// errno: EINVAL where the kernel lacks MADV_COLLAPSE or transparent huge pages are off).
    package struct HugePages: Sendable, Equatable {
        package var bytes = 0
        package var error: Int32?
    }

    /// Moves the snapshot's large buffers (the index's slots, each column's values, text, lengths and null bits)
    /// into transparent huge pages, in place (`enrich_huge_pages`). Lookups read cells at random rows of columns
    /// of many MiB: on 4 KiB pages most of those reads also miss the TLB, on 2 MiB pages the snapshot of the 1M
    /// demo products fits in it (issue 15). Run once, by the sync that built the snapshot, before publishing;
    /// it copies each buffer once (tens of milliseconds for 50 MiB) and changes no contents, so readers may
    /// already hold the snapshot. Buffers under 2 MiB are left alone.
    @discardableResult
    package func backWithHugePages() -> HugePages {
        var result = HugePages()
        func advise(_ buffer: UnsafeRawBufferPointer) {
            guard let base = buffer.baseAddress, buffer.count >= 2 << 20 else { return }
            let outcome = enrich_huge_pages(base, buffer.count)
            if outcome >= 0 {
                result.bytes += outcome
            } else if result.error == nil {
                result.error = Int32(-outcome)
            }
        }
        func advise<Element>(_ array: [Element]) { array.withUnsafeBytes { advise($0) } }
        func advise(_ arena: StringArena) {
            advise(arena.bytes)
            advise(arena.index)
        }
        advise(self.index.slots)
        for column in self.columns {
            switch column.storage {
            case .int64(let values), .timestamp(let values): advise(values)
            case .double(let values): advise(values)
            case .bool(let values): advise(values)
            case .string(let arena): advise(arena)
            case .packedInt(let packed), .packedDouble(let packed, _): advise(packed.codes)
            case .dictionary(let codes, let strings):
                advise(codes.codes)
                advise(strings)
            }
            advise(column.nulls.words)
        }
        return result
    }
}
