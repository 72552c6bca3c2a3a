/// Names a method on the wire as "enrich.v1.<Service>/<Method>".
public struct MethodDescriptor: Hashable, Sendable, CustomStringConvertible {
    public let service: String
    public let method: String

    public init(service: String, method: String) {
        self.service = service
        self.method = method
    }

    /// The name a request header carries, for example "enrich.v1.Enrich/Lookup".
    public var fullName: String { "\(self.service)/\(self.method)" }

    public var description: String { self.fullName }
}
