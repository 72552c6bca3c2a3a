/// An open-addressing hash index from primary key to row, built for the key column's type.
///
/// Slots hold row + 1 (0 is empty) in a power-of-two table kept at most half full, probed linearly. Keys are
/// not stored twice: a probe compares against the key column itself. No dictionary, no boxed values.
///
/// Once a snapshot is built, each slot also carries a fingerprint of its key's hash in the bits row + 1 does not
/// use (`withFingerprints`): 1M rows need 20 bits, leaving 12, so a probe skips 4,095 of 4,096 slots of other
/// keys without touching the key column (a cache miss each), and a missing key usually costs one slot read.
/// Snapshot files store the plain row + 1 (`plainSlot`); fingerprints are worked out again when one is read.
struct PrimaryKeyIndex: Sendable {
    private(set) var slots: [UInt32]
    private var mask: Int
    private(set) var count = 0
    /// Bits of a slot holding row + 1; the rest, above them, hold the fingerprint (none while building).
    private(set) var rowBits = 32

    /// An index from stored slots (snapshot files): a power-of-two table of row + 1 entries.
    init(slots: [UInt32], count: Int) {
        self.slots = slots
        self.mask = slots.count - 1
        self.count = count
    }

    /// The slot table's mask (a power of two minus one), for callers that probe in batches.
    var slotMask: Int { self.mask }

    /// Row + 1 of a slot, without its fingerprint (0: empty).
    @inline(__always)
    func plainSlot(_ entry: UInt32) -> UInt32 { self.rowBits == 32 ? entry : entry & ((1 << UInt32(self.rowBits)) - 1) }

    /// The fingerprint a key with this hash carries in its slot: the hash's top bits (the slot position uses the
    /// low ones), shifted above the row bits.
    @inline(__always)
    func fingerprint(_ hash: Int) -> UInt32 {
        guard self.rowBits < 32 else { return 0 }
        return UInt32(truncatingIfNeeded: UInt64(bitPattern: Int64(hash)) >> UInt64(32 + self.rowBits))
            << UInt32(self.rowBits)
    }

    /// The index with a fingerprint in every slot; `hash(row)` is the hash its key was inserted with. `rowBits`
    /// overrides the bits kept for row + 1 (tests force few fingerprint bits, and so collisions).
    func withFingerprints(rows: Int, rowBits: Int? = nil, hash: (Int) -> Int) -> PrimaryKeyIndex {
        var index = self
        index.rowBits = 32
        let bits = max(rowBits ?? 1, Int.bitWidth - rows.leadingZeroBitCount)  // holds row + 1 for every row
        index.rowBits = min(bits, 32)
        let fingerprinter = index
        var slots = self.slots
        slots.withUnsafeMutableBufferPointer { slots in
            for position in slots.indices where slots[position] != 0 {
                let entry = self.plainSlot(slots[position])
                slots[position] = entry | (bits < 32 ? fingerprinter.fingerprint(hash(Int(entry) - 1)) : 0)
            }
        }
        index.slots = slots
        return index
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

    /// Finds the row whose key satisfies `matches`, starting at `hash`; slots whose fingerprint differs are
    /// skipped without calling `matches`.
    @inline(__always)
    func find(hash: Int, matches: (Int) -> Bool) -> Int? {
        self.find(hash: hash, from: hash & self.mask, matches: matches)
    }

    /// `find` starting at slot `slot` (a batch probe resumes past a fingerprint that matched another key).
    @inline(__always)
    func find(hash: Int, from slot: Int, matches: (Int) -> Bool) -> Int? {
        let fingerprint = self.fingerprint(hash)
        let fingerprintMask = self.rowBits == 32 ? 0 : ~((UInt32(1) << UInt32(self.rowBits)) - 1)
        var slot = slot
        while true {
            let entry = self.slots[slot]
            if entry == 0 { return nil }
            if entry & fingerprintMask == fingerprint {
                let row = Int(self.plainSlot(entry)) - 1
                if matches(row) { return row }
            }
            slot = (slot + 1) & self.mask
        }
    }

    /// The first slot from `hash` that is empty or carries `hash`'s fingerprint: where a probe for the key would
    /// first compare keys. Returns the slot and its row (-1 when empty).
    @inline(__always)
    func candidate(hash: Int, slots: UnsafeBufferPointer<UInt32>) -> (slot: Int, row: Int) {
        let fingerprint = self.fingerprint(hash)
        let fingerprintMask = self.rowBits == 32 ? 0 : ~((UInt32(1) << UInt32(self.rowBits)) - 1)
        var slot = hash & self.mask
        while true {
            let entry = slots[slot]
            if entry == 0 { return (slot, -1) }
            if entry & fingerprintMask == fingerprint { return (slot, Int(self.plainSlot(entry)) - 1) }
            slot = (slot + 1) & self.mask
        }
    }

    /// Inserts `row` under `hash`; the caller has checked the key is not present. Only while building (no
    /// fingerprints yet).
    mutating func insert(row: Int, hash: Int, rehash: (Int) -> Int) {
        precondition(self.rowBits == 32, "insert into a finished index")
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
