/// Why a mapping could not be applied, in Segment's words.
package enum MappingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The payload is not a JSON object: "data must be an object, got array".
    case payload(String)
    /// The mapping is invalid; one message per problem, each "/<path> <message>.".
    case validation([String])
    /// A directive failed while running ("@path: expected string, got number").
    case runtime(String)

    package var messages: [String] {
        switch self {
        case .payload(let message), .runtime(let message): [message]
        case .validation(let messages): messages
        }
    }

    package var description: String { self.messages.joined(separator: "\n") }
}
