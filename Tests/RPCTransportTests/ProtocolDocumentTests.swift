import NIOCore
import RPCCore
import RPCMessages
import RPCTesting
import RPCTransport
import Testing

/// Keeps docs/PROTOCOL.md honest: its worked example must be byte for byte what the code sends, and its method
/// table what the server's method table declares.
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

    @Test("docs/PROTOCOL.md's method table lists every method with its request, response, write flag and roles")
    func protocolDocumentMatchesMethods() throws {
        let document = try Self.readDocument()
        let roles = [
            "workspace_owner", "entities_admin", "entities_read_only", "source_admin", "unify_read_only", "unify_admin",
            "enrich_only",
        ]
        let rows = document.split(separator: "\n").filter { $0.hasPrefix("| `enrich.v1.") }
        #expect(rows.count == Methods.all.count)
        for method in Methods.all {
            guard let row = rows.first(where: { $0.hasPrefix("| `\(method.fullName)` |") }) else {
                Issue.record("\(method.fullName) is missing from docs/PROTOCOL.md")
                continue
            }
            let cells = row.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: " ")
            }
            // "", method, request → response, cost, write, one cell per role, ""
            #expect(cells[2].contains("`\(method.request.replacing("enrich.v1.", with: ""))`"), "\(method.fullName)")
            #expect(cells[2].hasSuffix("`\(method.response.replacing("enrich.v1.", with: ""))`"), "\(method.fullName)")
            #expect(cells[3] == (method.cost?.rawValue ?? ""), "\(method.fullName)")
            #expect((cells[4] == "yes") == method.isWrite, "\(method.fullName)")
            let allowed = roles.indices.filter { cells[5 + $0].hasPrefix("✓") }.map { roles[$0] }
            #expect(allowed == (method.roles.map { Set($0) }.map { set in roles.filter(set.contains) } ?? roles))
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var text = self
        while text.first == character { text.removeFirst() }
        while text.last == character { text.removeLast() }
        return String(text)
    }
}
