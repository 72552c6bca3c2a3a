#include "CProtoWire.h"

#include <string.h>

// Field counts of one message live on the stack for messages of up to this many fields (ours have at most 16);
// bigger ones count in a second, bounded pass per field, which no message here needs.
#define STACK_FIELDS 64

typedef struct {
    const CProtoWire_Limits *limits;
    CProtoWire_Result *result;
    const uint8_t *base;
} Walk;

static int stop(Walk *walk, int code, const ProtobufCMessageDescriptor *descriptor,
                const ProtobufCFieldDescriptor *field, const uint8_t *at) {
    walk->result->code = code;
    walk->result->message_name = descriptor ? descriptor->name : NULL;
    walk->result->field_name = field ? field->name : NULL;
    walk->result->offset = (size_t)(at - walk->base);
    return code;
}

// Reads a varint of at most 10 bytes; returns the bytes used, 0 when truncated or too long.
static size_t read_varint(const uint8_t *at, const uint8_t *end, uint64_t *value) {
    uint64_t result = 0;
    for (size_t i = 0; i < 10; i++) {
        if (at + i >= end) return 0;
        uint8_t byte = at[i];
        result |= (uint64_t)(byte & 0x7f) << (7 * i);
        if ((byte & 0x80) == 0) {
            *value = result;
            return i + 1;
        }
    }
    return 0;
}

int CProtoWire_valid_utf8(const uint8_t *data, size_t length) {
    size_t i = 0;
    while (i < length) {
        // Eight ASCII bytes at a time: the common case for names and keys.
        if (i + 8 <= length) {
            uint64_t chunk;
            memcpy(&chunk, data + i, 8);
            if ((chunk & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        uint8_t byte = data[i];
        if (byte < 0x80) {
            i += 1;
        } else if (byte >= 0xC2 && byte <= 0xDF) {
            if (i + 1 >= length || (data[i + 1] & 0xC0) != 0x80) return 0;
            i += 2;
        } else if (byte >= 0xE0 && byte <= 0xEF) {
            if (i + 2 >= length) return 0;
            uint8_t b1 = data[i + 1], b2 = data[i + 2];
            if ((b1 & 0xC0) != 0x80 || (b2 & 0xC0) != 0x80) return 0;
            if (byte == 0xE0 && b1 < 0xA0) return 0;   // overlong
            if (byte == 0xED && b1 >= 0xA0) return 0;  // surrogate
            i += 3;
        } else if (byte >= 0xF0 && byte <= 0xF4) {
            if (i + 3 >= length) return 0;
            uint8_t b1 = data[i + 1], b2 = data[i + 2], b3 = data[i + 3];
            if ((b1 & 0xC0) != 0x80 || (b2 & 0xC0) != 0x80 || (b3 & 0xC0) != 0x80) return 0;
            if (byte == 0xF0 && b1 < 0x90) return 0;   // overlong
            if (byte == 0xF4 && b1 >= 0x90) return 0;  // past U+10FFFF
            i += 4;
        } else {
            return 0;  // continuation byte first, C0/C1, F5..FF
        }
    }
    return 1;
}

// The wire type protobuf-c accepts for an unpacked value of `type`.
static int scalar_wire_type(ProtobufCType type) {
    switch (type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL: case PROTOBUF_C_TYPE_ENUM:
        return 0;
    case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return 1;
    case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FLOAT:
        return 5;
    default:
        return 2;  // string, bytes, message
    }
}

// Elements in a packed run of `type` occupying [at, end), or SIZE_MAX when the run is malformed.
static size_t packed_count(ProtobufCType type, const uint8_t *at, const uint8_t *end) {
    size_t length = (size_t)(end - at);
    switch (scalar_wire_type(type)) {
    case 1: return length % 8 == 0 ? length / 8 : SIZE_MAX;
    case 5: return length % 4 == 0 ? length / 4 : SIZE_MAX;
    case 0: {
        size_t count = 0;
        for (const uint8_t *p = at; p < end; p++) if ((*p & 0x80) == 0) count++;
        // A run must end on a varint's last byte.
        return (length > 0 && (end[-1] & 0x80) != 0) ? SIZE_MAX : count;
    }
    default: return SIZE_MAX;  // strings, bytes and messages are never packed
    }
}

static int walk_message(Walk *walk, const ProtobufCMessageDescriptor *descriptor, const uint8_t *at,
                        const uint8_t *end, size_t depth);

static int check_string(Walk *walk, const ProtobufCMessageDescriptor *descriptor,
                        const ProtobufCFieldDescriptor *field, const uint8_t *at, size_t length) {
    if (length > walk->limits->max_string_bytes) return stop(walk, CPROTOWIRE_STRING_TOO_LONG, descriptor, field, at);
    if (length > 0 && memchr(at, 0, length) != NULL) return stop(walk, CPROTOWIRE_STRING_NUL, descriptor, field, at);
    if (!CProtoWire_valid_utf8(at, length)) return stop(walk, CPROTOWIRE_STRING_UTF8, descriptor, field, at);
    return CPROTOWIRE_OK;
}

static int walk_message(Walk *walk, const ProtobufCMessageDescriptor *descriptor, const uint8_t *at,
                        const uint8_t *end, size_t depth) {
    if (depth > walk->limits->max_depth) return stop(walk, CPROTOWIRE_TOO_DEEP, descriptor, NULL, at);
    size_t stack_counts[STACK_FIELDS];
    if (descriptor->n_fields > STACK_FIELDS) return stop(walk, CPROTOWIRE_MALFORMED, descriptor, NULL, at);
    memset(stack_counts, 0, sizeof(size_t) * descriptor->n_fields);
    size_t unknown = 0;
    const size_t max = walk->limits->max_repeated;
    while (at < end) {
        const uint8_t *tag_at = at;
        uint64_t tag;
        size_t used = read_varint(at, end, &tag);
        if (used == 0) return stop(walk, CPROTOWIRE_MALFORMED, descriptor, NULL, tag_at);
        at += used;
        uint64_t number = tag >> 3;
        int wire = (int)(tag & 7);
        if (number == 0 || number > 0x1fffffff) return stop(walk, CPROTOWIRE_MALFORMED, descriptor, NULL, tag_at);
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field(descriptor, (unsigned)number);
        // Where this field's value lies, and (for length-delimited values) its length.
        const uint8_t *value = at;
        size_t length = 0;
        switch (wire) {
        case 0: {
            uint64_t ignored;
            used = read_varint(at, end, &ignored);
            if (used == 0) return stop(walk, CPROTOWIRE_MALFORMED, descriptor, field, at);
            at += used;
            break;
        }
        case 1:
            if ((size_t)(end - at) < 8) return stop(walk, CPROTOWIRE_MALFORMED, descriptor, field, at);
            at += 8;
            break;
        case 5:
            if ((size_t)(end - at) < 4) return stop(walk, CPROTOWIRE_MALFORMED, descriptor, field, at);
            at += 4;
            break;
        case 2: {
            uint64_t declared;
            used = read_varint(at, end, &declared);
            if (used == 0 || declared > (uint64_t)(end - at - used))
                return stop(walk, CPROTOWIRE_MALFORMED, descriptor, field, at);
            value = at + used;
            length = (size_t)declared;
            at = value + length;
            break;
        }
        default:  // groups (3, 4) do not exist in proto3; 6 and 7 are not wire types
            return stop(walk, CPROTOWIRE_MALFORMED, descriptor, field, tag_at);
        }
        if (field == NULL) {
            if (++unknown > walk->limits->max_unknown_fields)
                return stop(walk, CPROTOWIRE_UNKNOWN_FIELDS, descriptor, NULL, tag_at);
            continue;
        }
        size_t index = (size_t)(field - descriptor->fields);
        int expected = scalar_wire_type(field->type);
        size_t entries = 1;
        if (wire != expected) {
            // A packed run of a repeated scalar is the one legal mismatch.
            if (!(wire == 2 && field->label == PROTOBUF_C_LABEL_REPEATED && expected != 2))
                return stop(walk, CPROTOWIRE_MALFORMED, descriptor, field, tag_at);
            entries = packed_count(field->type, value, value + length);
            if (entries == SIZE_MAX) return stop(walk, CPROTOWIRE_MALFORMED, descriptor, field, value);
        }
        if (entries > max || stack_counts[index] > max - entries)
            return stop(walk, CPROTOWIRE_TOO_MANY, descriptor, field, tag_at);
        stack_counts[index] += entries;
        if (wire != 2 || expected != 2) continue;
        switch (field->type) {
        case PROTOBUF_C_TYPE_STRING: {
            int code = check_string(walk, descriptor, field, value, length);
            if (code != CPROTOWIRE_OK) return code;
            break;
        }
        case PROTOBUF_C_TYPE_MESSAGE: {
            int code = walk_message(walk, (const ProtobufCMessageDescriptor *)field->descriptor, value,
                                    value + length, depth + 1);
            if (code != CPROTOWIRE_OK) return code;
            break;
        }
        default:  // bytes: any content
            break;
        }
    }
    return CPROTOWIRE_OK;
}

int CProtoWire_check(const ProtobufCMessageDescriptor *descriptor, const uint8_t *data, size_t length,
                     const CProtoWire_Limits *limits, CProtoWire_Result *result) {
    Walk walk = {limits, result, data};
    result->code = CPROTOWIRE_OK;
    result->message_name = descriptor->name;
    result->field_name = NULL;
    result->offset = 0;
    return walk_message(&walk, descriptor, data, data + length, 1);
}
