import CProtoWire
import CProtos
import RPCCore

/// The bounded walk every protobuf-c decode starts with (`CProtoWire_check`), turned into precise errors.
///
/// protobuf-c allocates every repeated entry and unknown field before anything can look at a count, and reads
/// strings up to their first NUL; the walk refuses such input first, naming the message and field.
enum WireCheck {
    /// - Throws: `RPCError(.resourceExhausted)` for a field with too many entries, `.invalidArgument` for the rest.
    static func check(
        _ bytes: UnsafeRawBufferPointer, descriptor: UnsafePointer<ProtobufCMessageDescriptor>, limits: WireLimits
    ) throws(RPCError) {
        guard bytes.count > 0 else { return }
        var cLimits = CProtoWire_Limits(
            max_repeated: limits.maxRepeatedEntries, max_string_bytes: limits.maxStringBytes,
            max_depth: limits.maxNestingDepth, max_unknown_fields: limits.maxUnknownFields
        )
        var result = CProtoWire_Result()
        let code = CProtoWire_check(
            descriptor, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count, &cLimits, &result
        )
        guard code != CPROTOWIRE_OK else { return }
        throw Self.error(result, limits: limits)
    }

    static func error(_ result: CProtoWire_Result, limits: WireLimits) -> RPCError {
        let message = result.message_name.map { String(cString: $0) } ?? "message"
        let field = result.field_name.map { "\(message).\(String(cString: $0))" } ?? message
        switch Int(result.code) {
        case CPROTOWIRE_TOO_MANY:
            return RPCError(
                .resourceExhausted,
                "\(field) has more than \(limits.maxRepeatedEntries) entries (the limit per message)"
            )
        case CPROTOWIRE_STRING_NUL:
            return RPCError(.invalidArgument, "\(field) contains a NUL byte")
        case CPROTOWIRE_STRING_UTF8:
            return RPCError(.invalidArgument, "\(field) is not valid UTF-8")
        case CPROTOWIRE_STRING_TOO_LONG:
            return RPCError(.invalidArgument, "\(field) is longer than \(limits.maxStringBytes) bytes")
        case CPROTOWIRE_TOO_DEEP:
            return RPCError(.invalidArgument, "\(message) is nested deeper than \(limits.maxNestingDepth) messages")
        case CPROTOWIRE_UNKNOWN_FIELDS:
            return RPCError(.invalidArgument, "\(message) carries more than \(limits.maxUnknownFields) unknown fields")
        default:
            return RPCError(
                .invalidArgument, "message body is not a valid protobuf encoding (\(field), byte \(result.offset))"
            )
        }
    }

    /// Whether `bytes` are valid UTF-8, by the same rule the walk applies to string fields.
    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        return CProtoWire_valid_utf8(base.assumingMemoryBound(to: UInt8.self), bytes.count) == 1
    }
}
