@_exported public import EnrichPolicy

/// The server's limits (EnrichPolicy/Policy.swift, with every other limit), by the name the RPC layers use.
public typealias Limits = ServerLimits
