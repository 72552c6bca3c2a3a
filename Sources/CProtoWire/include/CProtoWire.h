#ifndef CPROTOWIRE_H
#define CPROTOWIRE_H

// A bounded walk over protobuf wire bytes, driven by protobuf-c's message descriptors, run before
// protobuf_c_message_unpack. protobuf-c itself allocates every repeated entry, every unknown field and every
// string before anything can look at a count, and copies strings with strlen semantics (an embedded NUL
// silently truncates them). This walk visits each byte once, allocates nothing, and stops at the first
// breach: the N+1th entry of a repeated field, a string with a NUL byte or invalid UTF-8, nesting past the
// limit, or an encoding protobuf-c would reject. Only then does the caller unpack.

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t max_repeated;        // entries of one field in one message (a repeated field, or a singular one repeated)
    size_t max_string_bytes;    // bytes of one string field
    size_t max_depth;           // messages nested in messages (the top message is depth 1)
    size_t max_unknown_fields;  // fields with numbers the descriptor does not know, per message
} CProtoWire_Limits;

enum {
    CPROTOWIRE_OK = 0,
    CPROTOWIRE_MALFORMED = 1,        // truncated varint or length, group wire type, wire type wrong for the field
    CPROTOWIRE_TOO_MANY = 2,         // a field past max_repeated
    CPROTOWIRE_STRING_NUL = 3,       // a string field holding a NUL byte
    CPROTOWIRE_STRING_UTF8 = 4,      // a string field that is not valid UTF-8
    CPROTOWIRE_STRING_TOO_LONG = 5,  // a string field past max_string_bytes
    CPROTOWIRE_TOO_DEEP = 6,         // nesting past max_depth
    CPROTOWIRE_UNKNOWN_FIELDS = 7,   // more than max_unknown_fields unknown fields in one message
};

typedef struct {
    int code;                      // one of the CPROTOWIRE_* values
    const char *message_name;      // full name of the message where the walk stopped (static storage)
    const char *field_name;        // the field, or NULL when none applies (static storage)
    size_t offset;                 // byte offset into the input where the walk stopped
} CProtoWire_Result;

// Checks `length` bytes at `data` against `descriptor` and `limits`. Returns result->code; fills every field of
// `result`. Never reads past data + length, never allocates, recursion bounded by max_depth.
int CProtoWire_check(const ProtobufCMessageDescriptor *descriptor, const uint8_t *data, size_t length,
                     const CProtoWire_Limits *limits, CProtoWire_Result *result);

// Whether `length` bytes at `data` are valid UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
// Exposed for the Swift view decoders of the hot-path requests, so both paths apply one rule.
int CProtoWire_valid_utf8(const uint8_t *data, size_t length);

// The descriptor of an initialised protobuf-c message (its first member).
static inline const ProtobufCMessageDescriptor *CProtoWire_descriptor(const void *message) {
    return ((const ProtobufCMessage *)message)->descriptor;
}

#endif
