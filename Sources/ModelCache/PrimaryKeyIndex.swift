/// An open-addressing hash index from primary key to row, built for the key column's type.
///
/// Slots hold row + 1 (0 is empty) in a power-of-two table kept at most half full, probed linearly. Keys are
/// not stored twice: a probe compares against the key column itself. No dictionary, no boxed values.
struct PrimaryKeyIndex: Sendable {
    private(set) var slots: [UInt32]
    private var mask: Int
    private(set) var count = 0

    /// An index from stored slots (snapshot files): a power-of-two table of row + 1 entries.
    init(slots: [UInt32], count: Int) {
        self.slots = slots
        self.mask = slots.count - 1
        self.count = count
    }

    init(expectedRows: Int) {
        var capacity = 16
        while capacity < expectedRows * 2 { capacity <<= 1 }
        self.slots = [UInt32](repeating: 0, count: capacity)
        self.mask = capacity - 1
    }

    var residentBytes: Int { self.slots.capacity * 4 }

    // MARK: - Hashing

    @inline(__always)
    static func hash(_ key: Int64) -> Int {
        // The 64-bit finalizer of MurmurHash3: spreads sequential ids over the whole table.
        var x = UInt64(bitPattern: key)
        x ^= x >> 33
        x &*= 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        x &*= 0xc4ce_b9fe_1a85_ec53
        x ^= x >> 33
        return Int(truncatingIfNeeded: x)
    }

    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        // FNV-1a over the bytes, finished with the integer mixer so the low bits used by the mask are good.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01b3
        }
        return Self.hash(Int64(bitPattern: h))
    }

    // MARK: - Probing

    /// Finds the row whose key satisfies `matches`, starting at `hash`.
    @inline(__always)
    func find(hash: Int, matches: (Int) -> Bool) -> Int? {
        var slot = hash & self.mask
        while true {
            let entry = self.slots[slot]
            if entry == 0 { return nil }
            let row = Int(entry) - 1
            if matches(row) { return row }
            slot = (slot + 1) & self.mask
        }
    }

    /// Inserts `row` under `hash`; the caller has checked the key is not present.
    mutating func insert(row: Int, hash: Int, rehash: (Int) -> Int) {
        if (self.count + 1) * 2 > self.slots.count { self.grow(rehash: rehash) }
        var slot = hash & self.mask
        while self.slots[slot] != 0 { slot = (slot + 1) & self.mask }
        self.slots[slot] = UInt32(row + 1)
        self.count += 1
    }

    private mutating func grow(rehash: (Int) -> Int) {
        let capacity = self.slots.count * 2
        var slots = [UInt32](repeating: 0, count: capacity)
        let mask = capacity - 1
        for entry in self.slots where entry != 0 {
            var slot = rehash(Int(entry) - 1) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = entry
        }
        self.slots = slots
        self.mask = mask
    }
}
