// A lean Redis load generator for Scripts/bench.sh: the peer measured at its best, with a client that costs little
// of the two cores it shares with the server (redis-benchmark formats every command and tracks far more).
//
// One thread, epoll, non-blocking OpenSSL (TLS, verifying the server against a CA file). Each of C connections
// keeps one pipeline of B `HMGET p:<key> <fields...>` in flight (closed loop, as enrich-load keeps one call of B
// keys per connection), keys uniform in 1...K, until N pipelines are answered or D seconds pass. A pipeline's
// latency is from its first byte written to its last reply read. Prints one JSON line:
//   {"pipelines":N,"commands":N*B,"seconds":S,"commands_per_second":X,"p50_ms":..,"p99_ms":..,"nil_replies":..}
//
// Usage: redis-load HOST PORT CA_FILE CONNECTIONS BATCH PIPELINES SECONDS KEY_MAX FIELD...
// Build: cc -O2 -o redis-load redis-load.c -lssl -lcrypto (load.h, beside it, holds what it shares with
// enrichd-load.c)
#include "load.h"

typedef struct {
    SSL *ssl;
    char *out;          // the pipeline's request bytes
    size_t out_len, out_sent;
    char in[1 << 16];   // unparsed reply bytes
    size_t in_len;
    long replies;       // complete top-level replies of the current pipeline
    int depth_left;     // elements left in the current array reply, -1 when not inside one
    double started;
} Connection;

static int batch, nfields;
static char **fields;
static long key_max;
static long nil_replies;

// Writes B HMGETs of random keys into c->out (RESP arrays, as redis-cli would send them).
static void build_pipeline(Connection *c) {
    size_t cap = (size_t)batch * (64 + (size_t)nfields * 32);
    if (!c->out) c->out = malloc(cap);
    size_t n = 0;
    for (int i = 0; i < batch; i++) {
        char key[32];
        int key_len = snprintf(key, sizeof key, "p:%012ld", (long)(next_random() % (uint64_t)key_max));
        n += sprintf(c->out + n, "*%d\r\n$5\r\nHMGET\r\n$%d\r\n%s\r\n", 2 + nfields, key_len, key);
        for (int f = 0; f < nfields; f++) n += sprintf(c->out + n, "$%zu\r\n%s\r\n", strlen(fields[f]), fields[f]);
    }
    c->out_len = n;
    c->out_sent = 0;
    c->replies = 0;
    c->depth_left = -1;
    c->started = now();
}

// Consumes complete RESP items from c->in; counts top-level replies (an array counts once all its elements are
// read). Returns 0 when more bytes are needed.
static int parse(Connection *c) {
    size_t pos = 0;
    for (;;) {
        char *line = c->in + pos;
        char *end = memmem(line, c->in_len - pos, "\r\n", 2);
        if (!end) break;
        size_t header = (size_t)(end - line) + 2;
        if (line[0] == '$') {
            long len = strtol(line + 1, NULL, 10);
            size_t total = header + (len >= 0 ? (size_t)len + 2 : 0);
            if (pos + total > c->in_len) break;
            if (len < 0) nil_replies++;
            pos += total;
        } else if (line[0] == '*') {
            c->depth_left = (int)strtol(line + 1, NULL, 10);
            pos += header;
            if (c->depth_left <= 0) { c->depth_left = -1; c->replies++; }
            continue;
        } else if (line[0] == '-') {
            fprintf(stderr, "redis-load: error reply: %.*s\n", (int)(end - line), line);
            exit(1);
        } else {
            pos += header;
        }
        if (c->depth_left > 0 && --c->depth_left == 0) { c->depth_left = -1; c->replies++; }
        else if (c->depth_left < 0) c->replies++;
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 10) {
        fprintf(stderr, "usage: redis-load HOST PORT CA_FILE CONNECTIONS BATCH PIPELINES SECONDS KEY_MAX FIELD...\n");
        return 64;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]), connections = atoi(argv[4]);
    batch = atoi(argv[5]);
    long pipelines = atol(argv[6]);
    double seconds = atof(argv[7]);
    key_max = atol(argv[8]);
    fields = argv + 9;
    nfields = argc - 9;
    load_program = "redis-load";
    SSL_CTX *context = load_tls_context(argv[3]);
    int epoll = epoll_create1(0);
    Connection *all = calloc((size_t)connections, sizeof *all);
    for (int i = 0; i < connections; i++) {
        Connection *c = &all[i];
        c->ssl = load_connect(context, host, port, epoll, c);
        build_pipeline(c);
    }

    double start = now(), deadline = start + seconds;
    long answered = 0, sent_pipelines = connections;
    struct epoll_event events[64];
    while (answered < pipelines && now() < deadline) {
        int ready = epoll_wait(epoll, events, 64, 100);
        for (int e = 0; e < ready; e++) {
            Connection *c = events[e].data.ptr;
            for (int progress = 1; progress;) {
                progress = load_write(c->ssl, c->out, c->out_len, &c->out_sent);
                for (;;) {
                    size_t n = load_read(c->ssl, c->in + c->in_len, sizeof c->in - c->in_len);
                    if (n == 0) break;
                    c->in_len += n;
                    parse(c);
                    progress = 1;
                    if (c->replies >= batch) {
                        record(now() - c->started);
                        answered++;
                        if (sent_pipelines < pipelines) {
                            sent_pipelines++;
                            build_pipeline(c);
                        } else {
                            c->out_len = c->out_sent = 0;
                            c->replies = -1000000;  // idle
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
    printf("{\"pipelines\":%ld,\"commands\":%ld,\"seconds\":%.3f,\"commands_per_second\":%.0f,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"nil_replies\":%ld}\n",
           answered, answered * batch, elapsed, answered * batch / elapsed, p50, p99, nil_replies);
    return 0;
}
