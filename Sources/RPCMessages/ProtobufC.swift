import CProtoWire
import CProtos
import RPCCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// The bridge between Swift messages and protobuf-c's C structs. Decoding unpacks with protobuf-c, copies the
// fields into Swift values and frees the C tree at once; encoding builds a C tree in an arena that lives for
// one pack call. No C type is visible outside this module.

/// Allocations for one encode, freed together when the arena goes away.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit {
        for block in self.blocks { free(block) }
    }

    func array<T>(_ count: Int, of type: T.Type) -> UnsafeMutablePointer<T> {
        // malloc(0) may return NULL; one byte keeps the pointer valid and distinct.
        guard let raw = malloc(max(count * MemoryLayout<T>.stride, 1)) else {
            preconditionFailure("out of memory encoding a message")
        }
        self.blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    func string(_ value: String) -> UnsafeMutablePointer<CChar> {
        var value = value
        return value.withUTF8 { utf8 in
            let pointer = self.array(utf8.count + 1, of: CChar.self)
            if let base = utf8.baseAddress { memcpy(pointer, base, utf8.count) }
            pointer[utf8.count] = 0
            return pointer
        }
    }

    func strings(_ values: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard !values.isEmpty else { return nil }
        let pointer = self.array(values.count, of: UnsafeMutablePointer<CChar>?.self)
        for (index, value) in values.enumerated() { pointer[index] = self.string(value) }
        return pointer
    }

    func scalars<T>(_ values: [T]) -> UnsafeMutablePointer<T>? {
        guard !values.isEmpty else { return nil }
        let pointer = self.array(values.count, of: T.self)
        values.withUnsafeBufferPointer { source in
            pointer.initialize(from: source.baseAddress!, count: source.count)  // Non-empty, checked above.
        }
        return pointer
    }

    func booleans(_ values: [Bool]) -> UnsafeMutablePointer<protobuf_c_boolean>? {
        guard !values.isEmpty else { return nil }
        let pointer = self.array(values.count, of: protobuf_c_boolean.self)
        for (index, value) in values.enumerated() { pointer[index] = value ? 1 : 0 }
        return pointer
    }

    func bytes(_ values: [UInt8]) -> ProtobufCBinaryData {
        ProtobufCBinaryData(len: values.count, data: self.scalars(values))
    }

    func bytesArray(_ values: [[UInt8]]) -> UnsafeMutablePointer<ProtobufCBinaryData>? {
        guard !values.isEmpty else { return nil }
        let pointer = self.array(values.count, of: ProtobufCBinaryData.self)
        for (index, value) in values.enumerated() { pointer[index] = self.bytes(value) }
        return pointer
    }

    func message<M: ProtobufCBridged>(_ value: M) -> UnsafeMutablePointer<M.CMessage> {
        let pointer = self.array(1, of: M.CMessage.self)
        M.cInit(pointer)
        value.fill(pointer, self)
        return pointer
    }

    func messages<M: ProtobufCBridged>(_ values: [M]) -> UnsafeMutablePointer<UnsafeMutablePointer<M.CMessage>?>? {
        guard !values.isEmpty else { return nil }
        let pointer = self.array(values.count, of: UnsafeMutablePointer<M.CMessage>?.self)
        for (index, value) in values.enumerated() { pointer[index] = self.message(value) }
        return pointer
    }

    func metadata(_ metadata: Metadata) -> UnsafeMutablePointer<UnsafeMutablePointer<Enrich__V1__MetadataEntry>?>? {
        self.messages(metadata.entries.map { MetadataEntry(key: $0.key, value: $0.value) })
    }
}

/// A bump allocator for one protobuf-c unpack. `alloc` hands out 16-byte-aligned pieces of a 16 KiB stack
/// buffer, then of heap chunks that double in size (at least 64 KiB); `free` does nothing; everything goes when
/// `with` returns. protobuf-c's default allocator would malloc every string and array of the message.
enum DecodeArena {
    static let stackBytes = 16 << 10
    static let firstChunkBytes = 64 << 10

    private struct State {
        var base: UnsafeMutableRawPointer
        var capacity: Int
        var used: Int
        /// Heap chunks, linked through their first 16 bytes.
        var chunks: UnsafeMutableRawPointer?
        var nextChunk: Int
    }

    static func with<Result>(_ body: (UnsafeMutablePointer<ProtobufCAllocator>) -> Result) -> Result {
        withUnsafeTemporaryAllocation(byteCount: Self.stackBytes, alignment: 16) { buffer in
            withUnsafeTemporaryAllocation(of: State.self, capacity: 1) { state in
                state.baseAddress!.initialize(
                    to: State(
                        base: buffer.baseAddress!, capacity: Self.stackBytes, used: 0, chunks: nil,
                        nextChunk: Self.firstChunkBytes
                    ))
                defer {
                    var chunk = state[0].chunks
                    while let current = chunk {
                        chunk = current.load(as: UnsafeMutableRawPointer?.self)
                        free(current)
                    }
                }
                return withUnsafeTemporaryAllocation(of: ProtobufCAllocator.self, capacity: 1) { allocator in
                    allocator.baseAddress!.initialize(
                        to: ProtobufCAllocator(
                            alloc: { data, size in
                                let state = data!.assumingMemoryBound(to: State.self)
                                let size = max((size + 15) & ~15, 16)
                                if state.pointee.used + size > state.pointee.capacity {
                                    let chunkBytes = max(state.pointee.nextChunk, size + 16)
                                    guard let chunk = malloc(chunkBytes) else { return nil }
                                    chunk.storeBytes(of: state.pointee.chunks, as: UnsafeMutableRawPointer?.self)
                                    state.pointee.chunks = chunk
                                    state.pointee.base = chunk + 16
                                    state.pointee.capacity = chunkBytes - 16
                                    state.pointee.used = 0
                                    state.pointee.nextChunk = chunkBytes * 2
                                }
                                let pointer = state.pointee.base + state.pointee.used
                                state.pointee.used += size
                                return pointer
                            },
                            free: { _, _ in },
                            allocator_data: UnsafeMutableRawPointer(state.baseAddress!)
                        ))
                    return body(allocator.baseAddress!)
                }
            }
        }
    }
}

/// A Swift message with a protobuf-c twin (the conformances are generated: Generated/*.pb.swift). Conformers give
/// the generated init/unpack functions and copy fields both ways; this extension supplies `RPCMessage`.
protocol ProtobufCBridged: RPCMessage {
    associatedtype CMessage
    /// The proto message name, for error messages.
    static var protoName: String { get }
    /// The generated `Field.all`: every field's proto name and number.
    static var generatedFields: [(name: String, number: Int)] { get }
    static func cInit(_ message: UnsafeMutablePointer<CMessage>)
    /// Unpacks with `allocator`; the decode path passes a `DecodeArena`, which frees the whole tree at once.
    static func cUnpack(
        _ allocator: UnsafeMutablePointer<ProtobufCAllocator>?, _ length: Int, _ data: UnsafePointer<UInt8>
    ) -> UnsafeMutablePointer<CMessage>?
    /// Copies the fields out of a C message.
    init(c message: UnsafePointer<CMessage>)
    /// Copies the fields into an initialised C message, allocating in `arena`.
    func fill(_ message: UnsafeMutablePointer<CMessage>, _ arena: CArena)
}

private let emptyInput: [UInt8] = [0]

extension ProtobufCBridged {
    /// The message's protobuf-c descriptor, read from an initialised C message (its first member).
    static var cDescriptor: UnsafePointer<ProtobufCMessageDescriptor> {
        withUnsafeTemporaryAllocation(of: CMessage.self, capacity: 1) { message in
            Self.cInit(message.baseAddress!)
            return CProtoWire_descriptor(message.baseAddress!)
        }
    }

    /// Every field's name and number as protobuf-c's descriptor has them, in declaration order (the tests hold
    /// the generated code and the hand-tuned writers to these).
    static var protobufCFields: [(name: String, number: Int)] {
        let descriptor = Self.cDescriptor.pointee
        return (0..<Int(descriptor.n_fields)).map { index in
            let field = descriptor.fields[index]
            return (String(cString: field.name), Int(field.id))
        }
    }

    /// Decodes with protobuf-c into a `DecodeArena`, after `WireCheck` has walked the bytes against `limits`:
    /// the C tree's pieces come from one stack buffer (and, past it, a few doubling heap chunks), so a message of
    /// N strings costs O(log N) mallocs instead of N, and N itself is bounded before protobuf-c counts it.
    public init(serializedBytes bytes: UnsafeRawBufferPointer, limits: WireLimits) throws(RPCError) {
        try WireCheck.check(bytes, descriptor: Self.cDescriptor, limits: limits)
        let decoded: Self? = DecodeArena.with { allocator in
            emptyInput.withUnsafeBufferPointer { empty in
                // protobuf-c wants a non-NULL pointer even for zero bytes.
                let data = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? empty.baseAddress!
                guard let unpacked = Self.cUnpack(allocator, bytes.count, data) else { return nil }
                // No free: the arena releases the whole tree at once.
                return Self(c: unpacked)
            }
        }
        guard let decoded else {
            throw RPCError(.invalidArgument, "message body is not a valid \(Self.protoName) protobuf encoding")
        }
        self = decoded
    }

    /// Builds the C tree in an arena, sizes it, and packs it straight into the writer's bytes.
    public func serialize(into writer: inout some SerializedMessageWriter) {
        let arena = CArena()
        let message = arena.message(self)
        UnsafeMutableRawPointer(message).withMemoryRebound(to: ProtobufCMessage.self, capacity: 1) { base in
            let size = protobuf_c_message_get_packed_size(base)
            writer.appendSerialized(count: size) { output in
                guard size > 0 else { return }
                let written = protobuf_c_message_pack(base, output.baseAddress!.assumingMemoryBound(to: UInt8.self))
                precondition(written == size, "protobuf-c packed \(written) bytes after sizing \(size)")
            }
        }
    }
}

// MARK: - Reading helpers

@inline(__always)
func readString(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
    guard let pointer else { return "" }
    return String(cString: pointer)
}

func readStrings(_ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
    guard let pointer, count > 0 else { return [] }
    return (0..<count).map { readString(pointer[$0]) }
}

func readScalars<T>(_ count: Int, _ pointer: UnsafeMutablePointer<T>?) -> [T] {
    guard let pointer, count > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: pointer, count: count))
}

func readBooleans(_ count: Int, _ pointer: UnsafeMutablePointer<protobuf_c_boolean>?) -> [Bool] {
    guard let pointer, count > 0 else { return [] }
    return (0..<count).map { pointer[$0] != 0 }
}

func readBytes(_ data: ProtobufCBinaryData) -> [UInt8] {
    guard let base = data.data, data.len > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: base, count: data.len))
}

func readBytesArray(_ count: Int, _ pointer: UnsafeMutablePointer<ProtobufCBinaryData>?) -> [[UInt8]] {
    guard let pointer, count > 0 else { return [] }
    return (0..<count).map { readBytes(pointer[$0]) }
}

func readMessages<M: ProtobufCBridged>(
    _ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<M.CMessage>?>?, as type: M.Type
) -> [M] {
    guard let pointer, count > 0 else { return [] }
    return (0..<count).compactMap { index in pointer[index].map { M(c: $0) } }
}

func readMetadata(
    _ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<Enrich__V1__MetadataEntry>?>?
) -> Metadata {
    Metadata(readMessages(count, pointer, as: MetadataEntry.self).map { ($0.key, $0.value) })
}

/// A C enum's number, whatever integer type the importer chose for it.
@inline(__always)
func enumNumber<E: RawRepresentable>(_ value: E) -> UInt32 where E.RawValue: BinaryInteger {
    UInt32(truncatingIfNeeded: value.rawValue)
}

@inline(__always)
func cEnum<E: RawRepresentable>(_ number: UInt32, as type: E.Type) -> E where E.RawValue: BinaryInteger {
    E(rawValue: E.RawValue(truncatingIfNeeded: number))!  // Every C enum accepts every number of its width.
}
