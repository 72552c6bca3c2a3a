import EnrichClient
import EnrichServer
import NIOCore
import RPCTesting
import RPCTransport
import Testing

/// Bytes the SDK cannot send (it encodes strings through protobuf-c, which stops at a NUL): requests written by
/// hand, as an attacker would.
enum HandWritten {
    static func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] {
        precondition(bytes.count < 128, "one-byte lengths only")
        return [number << 3 | 2, UInt8(bytes.count)] + bytes
    }

    static func frame(id: UInt32, method: String, authorization: [UInt8], body: [UInt8]) -> ByteBuffer {
        let header = Self.field(1, Array(method.utf8)) + Self.field(2, authorization)
        var buffer = ByteBuffer()
        buffer.writeFrame(kind: .request, requestID: id) { payload in
            payload.writeInteger(UInt32(header.count))
            payload.writeBytes(header)
            payload.writeBytes(body)
        }
        return buffer
    }
}

@Suite("Hostile inputs end to end")
struct HostileInputTests {
    static func answer(_ fixture: ServerFixture, _ frame: ByteBuffer, id: UInt32) async throws -> Status {
        let raw = try await RawConnection.connect(
            port: fixture.client.configuration.port, tls: try fixture.certificates.clientContext())
        defer { Task { await raw.close() } }
        try await raw.send(frame)
        #expect(try await raw.wait { try $0.frames().contains { $0.kind == .status && $0.requestID == id } })
        let status = try #require(try raw.frames().first { $0.kind == .status && $0.requestID == id })
        return try Envelope.decode(Status.self, from: status.payload)
    }

    @Test(
        "A token followed by a NUL byte and garbage is refused UNAUTHENTICATED (it once matched the token before the NUL)"
    )
    func tokenWithNUL() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 10)
        try await fixture.createAndSyncDemoModels()
        let lookup = HandWritten.field(1, Array("products".utf8)) + HandWritten.field(3, Array("SKU-0000001".utf8))
        let good = Array("Bearer \(ServerFixture.ownerToken)".utf8)
        #expect(
            try await Self.answer(
                fixture, HandWritten.frame(id: 1, method: "enrich.v1.Enrich/Lookup", authorization: good, body: lookup),
                id: 1
            ).code == .ok)
        let status = try await Self.answer(
            fixture,
            HandWritten.frame(
                id: 2, method: "enrich.v1.Enrich/Lookup", authorization: good + [0] + Array("zzz".utf8), body: lookup),
            id: 2
        )
        #expect(status == Status(code: .unauthenticated, message: "the token contains a NUL byte or invalid UTF-8"))
        let tab = try await Self.answer(
            fixture,
            HandWritten.frame(id: 3, method: "enrich.v1.Enrich/Lookup", authorization: good + [0x09], body: lookup),
            id: 3
        )
        #expect(
            tab
                == Status(
                    code: .unauthenticated, message: "malformed token: it contains a control, space or non-ASCII byte"))
        await fixture.stop()
    }

    @Test(
        "A string key with a NUL or another control byte is refused INVALID_ARGUMENT (SKU-0000042\\0zzz once found SKU-0000042)"
    )
    func keysWithControlBytes() async throws {
        let fixture = try await ServerFixture.start(users: 10, products: 100)
        try await fixture.createAndSyncDemoModels()
        let authorization = Array("Bearer \(ServerFixture.ownerToken)".utf8)
        func lookup(_ key: [UInt8]) -> [UInt8] {
            HandWritten.field(1, Array("products".utf8)) + HandWritten.field(2, Array("name".utf8))
                + HandWritten.field(3, key)
        }
        let nul = try await Self.answer(
            fixture,
            HandWritten.frame(
                id: 1, method: "enrich.v1.Enrich/Lookup", authorization: authorization,
                body: lookup(Array("SKU-0000042".utf8) + [0] + Array("zzz".utf8))), id: 1
        )
        #expect(
            nul == Status(code: .invalidArgument, message: "enrich.v1.LookupRequest.string_keys contains a NUL byte"))
        let control = try await Self.answer(
            fixture,
            HandWritten.frame(
                id: 2, method: "enrich.v1.Enrich/Lookup", authorization: authorization,
                body: lookup(Array("SKU-0000042".utf8) + [0x1B])), id: 2
        )
        #expect(control == Status(code: .invalidArgument, message: "string key 0 contains a control byte (0x1B)"))
        // An admin message's strings go through the wire check: a NUL in a model name is refused there.
        let create =
            HandWritten.field(1, Array("evil".utf8) + [0] + Array("name".utf8))
            + HandWritten.field(3, Array("users".utf8))
            + HandWritten.field(4, Array("id".utf8))
        let model = try await Self.answer(
            fixture,
            HandWritten.frame(id: 3, method: "enrich.v1.Admin/CreateModel", authorization: authorization, body: create),
            id: 3
        )
        #expect(
            model == Status(code: .invalidArgument, message: "enrich.v1.CreateModelRequest.name contains a NUL byte"))
        await fixture.stop()
    }
}
