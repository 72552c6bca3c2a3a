// A lean load generator for enrichd's Lookup and Enrich, for Scripts/bench.sh: enrichd driven the way
// Scripts/bench/redis-load.c drives Redis, so both servers are measured with the same kind of client.
// enrich-load (Swift, NIO, the SDK's decoding) spends more CPU per call than either server does at small batches
// (~97 us per batch-1 Lookup), and on two shared cores the client's cost shows in the server's latency,
// throughput and even its CPU per call.
//
// One thread, epoll, non-blocking OpenSSL (TLS, verifying the server against a CA file). Each of C connections
// keeps one call of B keys or events in flight (closed loop), keys SKU-0000001 style, uniform in 1..K, until N
// calls are answered or D seconds pass. The wire format is docs/PROTOCOL.md's: frames of
// [length u32][kind u8][request id u32], a REQUEST's payload [header length u32][RequestHeader][request]. The
// messages are written by hand (a few length-delimited fields, as redis-load writes RESP by hand).
//   lookup: LookupRequest of B string keys and the columns; its MESSAGE must carry B `found` flags (counted).
//   enrich: EnrichRequest of B events through a destination, each
//           {"type":"track","event":"Product Viewed","userId":"u1","properties":{"sku":"SKU-..."}} (as
//           enrich-load sends them); its MESSAGE must carry B events (the ENRICHED ones counted).
// Every STATUS must be OK, or the run stops with the server's message. A call's latency is from its first byte
// written to its STATUS read. Prints one JSON line with the fields enrich-load's --json has:
//   lookup: {"calls":N,"keys":N*B,"found":F,"errors":0,"seconds":S,"keys_per_second":X,"p50_ms":..,"p99_ms":..}
//   enrich: {"calls":N,"events":N*B,"enriched":E,"errors":0,"seconds":S,"events_per_second":X,"p50_ms":..,..}
//
// Usage: enrichd-load lookup HOST PORT CA_FILE TOKEN CONNECTIONS BATCH CALLS SECONDS KEY_MAX MODEL COLUMN...
//        enrichd-load enrich HOST PORT CA_FILE TOKEN CONNECTIONS BATCH CALLS SECONDS KEY_MAX DESTINATION
// Build: cc -O2 -o enrichd-load enrichd-load.c -lssl -lcrypto (load.h, beside it, holds what it shares with
// redis-load.c)
#include "load.h"

enum { KIND_REQUEST = 1, KIND_MESSAGE = 2, KIND_STATUS = 3 };

typedef struct {
    SSL *ssl;
    uint8_t *out;  // the call's frame
    size_t out_len, out_sent;
    uint8_t *in;  // unparsed answer bytes
    size_t in_len, in_capacity;
    uint32_t id;
    double started;
    int busy;
} Connection;

static int batch, ncolumns, enrich;
static char **columns;
static const char *model, *token;  // model: the destination, for enrich
static long key_max, found_total;  // found_total: keys found (lookup) or events enriched (enrich)

static size_t put_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) { p[n++] = (uint8_t)(v | 0x80); v >>= 7; }
    p[n++] = (uint8_t)v;
    return n;
}

// A length-delimited field (wire type 2): tag, length, bytes.
static size_t put_bytes(uint8_t *p, int field, const void *bytes, size_t length) {
    size_t n = put_varint(p, (uint64_t)field << 3 | 2);
    n += put_varint(p + n, length);
    memcpy(p + n, bytes, length);
    return n + length;
}

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// Reads a varint at *p (below end); 0 when it runs past end.
static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    *v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) return 1;
    }
    return 0;
}

// Writes one REQUEST frame: B random keys (or events with them), a new request id.
static void build_call(Connection *c) {
    size_t capacity = 64 + strlen(token) + strlen(model) + (size_t)batch * (enrich ? 112 : 24);
    for (int i = 0; i < ncolumns; i++) capacity += strlen(columns[i]) + 8;
    if (!c->out) c->out = malloc(capacity + 64);
    uint8_t *p = c->out + 9 + 4;  // frame header, then the envelope's header length
    const char *method = enrich ? "enrich.v1.Enrich/Enrich" : "enrich.v1.Enrich/Lookup";
    char authorization[512];
    int authorization_length = snprintf(authorization, sizeof authorization, "Bearer %s", token);
    size_t header = put_bytes(p, 1, method, strlen(method));
    header += put_bytes(p + header, 2, authorization, (size_t)authorization_length);
    put_u32(c->out + 9, (uint32_t)header);
    uint8_t *q = p + header;
    size_t body = 0;
    if (enrich) {
        body += put_bytes(q, 5, model, strlen(model));
        for (int i = 0; i < batch; i++) {
            char event[128];
            int length = snprintf(event, sizeof event,
                                  "{\"type\":\"track\",\"event\":\"Product Viewed\",\"userId\":\"u1\","
                                  "\"properties\":{\"sku\":\"SKU-%07ld\"}}",
                                  1 + (long)(next_random() % (uint64_t)key_max));
            body += put_bytes(q + body, 4, event, (size_t)length);
        }
    } else {
        body += put_bytes(q, 1, model, strlen(model));
        for (int i = 0; i < ncolumns; i++) body += put_bytes(q + body, 2, columns[i], strlen(columns[i]));
        for (int i = 0; i < batch; i++) {
            char key[32];
            int length = snprintf(key, sizeof key, "SKU-%07ld", 1 + (long)(next_random() % (uint64_t)key_max));
            body += put_bytes(q + body, 3, key, (size_t)length);
        }
    }
    size_t payload = 4 + header + body;
    c->id = c->id % 0x7FFFFFFF + 1;
    put_u32(c->out, (uint32_t)payload);
    c->out[4] = KIND_REQUEST;
    put_u32(c->out + 5, c->id);
    c->out_len = 9 + payload;
    c->out_sent = 0;
    c->busy = 1;
    c->started = now();
}

// Counts the true flags of a LookupResponse's `found` (field 1, packed bools); -1 when it has not B of them.
static long count_found(const uint8_t *p, const uint8_t *end) {
    uint64_t tag, length;
    while (p < end) {
        if (!get_varint(&p, end, &tag)) return -1;
        if ((tag & 7) == 2) {
            if (!get_varint(&p, end, &length) || length > (uint64_t)(end - p)) return -1;
            if (tag >> 3 == 1) {
                if (length != (uint64_t)batch) return -1;
                long found = 0;
                for (uint64_t i = 0; i < length; i++) found += p[i] != 0;
                return found;
            }
            p += length;
        } else if ((tag & 7) == 0) {
            if (!get_varint(&p, end, &length)) return -1;
        } else {
            return -1;
        }
    }
    return batch == 0 ? 0 : -1;
}

// Counts the ENRICHED events of an EnrichResponse (field 1, each an EnrichedEvent whose field 1 is the
// outcome); -1 when it has not B events.
static long count_enriched(const uint8_t *p, const uint8_t *end) {
    uint64_t tag, length, value;
    long events = 0, enriched = 0;
    while (p < end) {
        if (!get_varint(&p, end, &tag) || (tag & 7) != 2 || tag >> 3 != 1) return -1;
        if (!get_varint(&p, end, &length) || length > (uint64_t)(end - p)) return -1;
        const uint8_t *event = p, *event_end = p + length;
        p = event_end;
        events++;
        while (event < event_end) {
            if (!get_varint(&event, event_end, &tag)) return -1;
            if ((tag & 7) == 0) {
                if (!get_varint(&event, event_end, &value)) return -1;
                if (tag >> 3 == 1 && value == 1) enriched++;
            } else if ((tag & 7) == 2) {
                if (!get_varint(&event, event_end, &value) || value > (uint64_t)(event_end - event)) return -1;
                event += value;
            } else {
                return -1;
            }
        }
    }
    return events == batch ? enriched : -1;
}

// A STATUS payload's code (field 1), and its message (field 2) printed when the code is not 0.
static void check_status(const uint8_t *p, const uint8_t *end) {
    uint64_t tag, value, code = 0;
    const uint8_t *message = NULL;
    uint64_t message_length = 0;
    while (p < end) {
        if (!get_varint(&p, end, &tag)) break;
        if ((tag & 7) == 0) {
            if (!get_varint(&p, end, &value)) break;
            if (tag >> 3 == 1) code = value;
        } else if ((tag & 7) == 2) {
            if (!get_varint(&p, end, &value) || value > (uint64_t)(end - p)) break;
            if (tag >> 3 == 2) { message = p; message_length = value; }
            p += value;
        } else {
            break;
        }
    }
    if (code != 0) {
        fprintf(stderr, "enrichd-load: the call failed with status %llu: %.*s\n", (unsigned long long)code,
                (int)message_length, message ? (const char *)message : "");
        exit(1);
    }
}

// Consumes the complete frames in c->in. Returns 1 when the call's STATUS arrived.
static int parse(Connection *c) {
    size_t position = 0;
    int done = 0;
    while (c->in_len - position >= 9) {
        const uint8_t *frame = c->in + position;
        uint32_t length = get_u32(frame);
        if (c->in_len - position - 9 < length) break;
        uint8_t kind = frame[4];
        uint32_t id = get_u32(frame + 5);
        const uint8_t *payload = frame + 9, *end = payload + length;
        if (id != c->id) {
            check_status(payload, end);  // connection-level (id 0) or a stray frame: it must not be an error
        } else if (kind == KIND_MESSAGE) {
            long counted = enrich ? count_enriched(payload, end) : count_found(payload, end);
            if (counted < 0) {
                fprintf(stderr, "enrichd-load: an answer without %d %s\n", batch, enrich ? "events" : "found flags");
                exit(1);
            }
            found_total += counted;
        } else if (kind == KIND_STATUS) {
            check_status(payload, end);
            done = 1;
        }
        position += 9 + length;
    }
    memmove(c->in, c->in + position, c->in_len - position);
    c->in_len -= position;
    return done;
}

int main(int argc, char **argv) {
    enrich = argc > 1 && strcmp(argv[1], "enrich") == 0;
    if (enrich ? argc != 12 : (argc < 13 || strcmp(argv[1], "lookup") != 0)) {
        fprintf(stderr,
                "usage: enrichd-load lookup HOST PORT CA_FILE TOKEN CONNECTIONS BATCH CALLS SECONDS KEY_MAX MODEL "
                "COLUMN...\n"
                "       enrichd-load enrich HOST PORT CA_FILE TOKEN CONNECTIONS BATCH CALLS SECONDS KEY_MAX "
                "DESTINATION\n");
        return 64;
    }
    argv++;
    argc--;
    const char *host = argv[1];
    int port = atoi(argv[2]), connections = atoi(argv[5]);
    token = argv[4];
    batch = atoi(argv[6]);
    long calls = atol(argv[7]);
    double seconds = atof(argv[8]);
    key_max = atol(argv[9]);
    model = argv[10];
    columns = argv + 11;
    ncolumns = argc - 11;
    if (strlen(token) > 400 || strlen(model) > 200 || batch < 1 || connections < 1 || key_max < 1) {
        fprintf(stderr, "enrichd-load: a token of at most 400 bytes, a name of at most 200, and a batch, "
                        "connections and KEY_MAX of 1 or more\n");
        return 64;
    }
    load_program = "enrichd-load";
    SSL_CTX *context = load_tls_context(argv[3]);
    int epoll = epoll_create1(0);
    Connection *all = calloc((size_t)connections, sizeof *all);
    long sent_calls = 0;
    for (int i = 0; i < connections; i++) {
        Connection *c = &all[i];
        c->ssl = load_connect(context, host, port, epoll, c);
        c->in_capacity = 1 << 16;
        c->in = malloc(c->in_capacity);
        if (sent_calls < calls) {
            sent_calls++;
            build_call(c);
        }
    }

    double start = now(), deadline = start + seconds;
    long answered = 0;
    struct epoll_event events[64];
    while (answered < sent_calls && now() < deadline) {
        int ready = epoll_wait(epoll, events, 64, 100);
        for (int e = 0; e < ready; e++) {
            Connection *c = events[e].data.ptr;
            for (int progress = 1; progress;) {
                progress = load_write(c->ssl, c->out, c->out_len, &c->out_sent);
                for (;;) {
                    if (c->in_capacity - c->in_len < 1 << 14) {
                        c->in_capacity *= 2;
                        c->in = realloc(c->in, c->in_capacity);
                    }
                    size_t n = load_read(c->ssl, c->in + c->in_len, c->in_capacity - c->in_len);
                    if (n == 0) break;
                    c->in_len += n;
                    progress = 1;
                    if (c->busy && parse(c)) {
                        record(now() - c->started);
                        answered++;
                        c->busy = 0;
                        c->out_len = c->out_sent = 0;
                        if (sent_calls < calls) {
                            sent_calls++;
                            build_call(c);
                        }
                        break;
                    }
                }
            }
        }
    }
    double elapsed = now() - start;
    double p50, p99;
    load_percentiles(&p50, &p99);
    if (enrich) {
        printf("{\"calls\":%ld,\"events\":%ld,\"enriched\":%ld,\"errors\":0,\"seconds\":%.3f,"
               "\"events_per_second\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
               answered, answered * batch, found_total, elapsed, answered * batch / elapsed, p50, p99);
    } else {
        printf("{\"calls\":%ld,\"keys\":%ld,\"found\":%ld,\"errors\":0,\"seconds\":%.3f,\"keys_per_second\":%.0f,"
               "\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
               answered, answered * batch, found_total, elapsed, answered * batch / elapsed, p50, p99);
    }
    return 0;
}
