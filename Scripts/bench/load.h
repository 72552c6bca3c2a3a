// What Scripts/bench/redis-load.c and Scripts/bench/enrichd-load.c share, so that the two servers are driven by
// one client shape: TLS connections over one epoll set (verified against a CA file, TCP_NODELAY, non-blocking,
// edge-triggered), writes and reads until they would block, keys drawn by splitmix64, and latencies kept for
// percentiles. Header-only (static functions): each client is still built by one `cc` command. A client sets
// `load_program` (for its messages) before calling any of these.
#ifndef ENRICH_BENCH_LOAD_H
#define ENRICH_BENCH_LOAD_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *load_program = "load";
static uint64_t load_rng = 0x9E3779B97F4A7C15ull;
static double *load_latencies;
static long load_latency_count, load_latency_capacity;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t next_random(void) {  // splitmix64, seeded by the process id
    uint64_t z = (load_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void die(const char *what) {
    fprintf(stderr, "%s: %s: %s\n", load_program, what, errno ? strerror(errno) : "failed");
    ERR_print_errors_fp(stderr);
    exit(1);
}

// A client context that verifies the server against `ca_file`; also seeds next_random.
static SSL_CTX *load_tls_context(const char *ca_file) {
    load_rng ^= (uint64_t)getpid();
    SSL_CTX *context = SSL_CTX_new(TLS_client_method());
    if (!context || SSL_CTX_load_verify_locations(context, ca_file, NULL) != 1) die("loading the CA file");
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, NULL);
    return context;
}

// Connects to host:port, completes a TLS handshake for "localhost", then makes the socket non-blocking and adds it
// to `epoll` (edge-triggered, in and out) with `data` as its pointer.
static SSL *load_connect(SSL_CTX *context, const char *host, int port, int epoll, void *data) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &address.sin_addr);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SSL *ssl = SSL_new(context);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    if (SSL_connect(ssl) != 1) die("TLS handshake");
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = data};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    return ssl;
}

// Writes out[*sent..<length] until done or the socket would block; 1 when anything was written.
static int load_write(SSL *ssl, const void *out, size_t length, size_t *sent) {
    int progress = 0;
    while (*sent < length) {
        int n = SSL_write(ssl, (const char *)out + *sent, (int)(length - *sent));
        if (n <= 0) {
            int error = SSL_get_error(ssl, n);
            if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) break;
            die("TLS write");
        }
        *sent += (size_t)n;
        progress = 1;
    }
    return progress;
}

// Reads what is there, up to `room` bytes; 0 when the socket would block.
static size_t load_read(SSL *ssl, void *into, size_t room) {
    int n = SSL_read(ssl, into, (int)room);
    if (n <= 0) {
        int error = SSL_get_error(ssl, n);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return 0;
        die("TLS read (the server closed the connection?)");
    }
    return (size_t)n;
}

static void record(double seconds) {
    if (load_latency_count == load_latency_capacity) {
        load_latency_capacity = load_latency_capacity ? load_latency_capacity * 2 : 1 << 16;
        load_latencies = realloc(load_latencies, (size_t)load_latency_capacity * sizeof *load_latencies);
    }
    load_latencies[load_latency_count++] = seconds;
}

static int load_compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// The recorded latencies' p50 and p99, in milliseconds (sorts them).
static void load_percentiles(double *p50_ms, double *p99_ms) {
    qsort(load_latencies, (size_t)load_latency_count, sizeof *load_latencies, load_compare);
    *p50_ms = load_latency_count ? load_latencies[load_latency_count / 2] * 1e3 : 0;
    *p99_ms = load_latency_count ? load_latencies[(long)(load_latency_count * 0.99)] * 1e3 : 0;
}

#endif
