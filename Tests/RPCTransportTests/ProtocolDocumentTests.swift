import NIOCore
import RPCCore
import RPCMessages
import RPCTesting
import RPCTransport
import Testing

/// Keeps docs/PROTOCOL.md honest: its worked example must be byte for byte what the code sends.
@Suite("docs/PROTOCOL.md")
struct ProtocolDocumentTests {
    static func readDocument() throws -> String {
        try #require(readTextFile("docs/PROTOCOL.md"), "run the tests from the project root")
    }

    /// The hex bytes of each labelled frame in the worked example.
    static func exampleFrames() throws -> [String: [UInt8]] {
        let document = try Self.readDocument()
        let section = try #require(document.split(separator: "## 8.").last)
        let block = try #require(section.split(separator: "```").dropFirst().first)
        var frames: [String: [UInt8]] = [:]
        var label = ""
        for line in block.split(separator: "\n") {
            var tokens = line.split(separator: " ")[...]
            if let first = tokens.first, ["REQUEST", "MESSAGE", "STATUS"].contains(String(first)) {
                label = String(first)
                tokens = tokens.dropFirst()
            }
            for token in tokens {
                guard token.count == 2, let byte = UInt8(token, radix: 16) else { break }
                frames[label, default: []].append(byte)
            }
        }
        return frames
    }

    @Test("The worked Health/Check example matches the encoder byte for byte")
    func workedExample() throws {
        let frames = try Self.exampleFrames()
        var request = ByteBuffer()
        Envelope.writeRequest(
            into: &request, requestID: 1, header: RequestHeader(method: Methods.healthCheck.fullName),
            message: HealthCheckRequest())
        #expect(frames["REQUEST"] == Array(request.readableBytesView))
        var message = ByteBuffer()
        Envelope.writeMessage(
            into: &message, requestID: 1, message: HealthCheckResponse(status: "SERVING", version: "0.1.0"))
        #expect(frames["MESSAGE"] == Array(message.readableBytesView))
        var status = ByteBuffer()
        Envelope.writeStatus(into: &status, requestID: 1, status: .ok)
        #expect(frames["STATUS"] == Array(status.readableBytesView))
    }
}
