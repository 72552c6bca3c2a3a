#ifndef C_OPENSSL_SHIMS_H
#define C_OPENSSL_SHIMS_H

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

// The wrappers below exist because the wrapped names are macros over *_ctrl calls, which Swift cannot import.

static inline int COpenSSLShims_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline long COpenSSLShims_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline long COpenSSLShims_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

// A memory BIO reports EOF when empty unless told otherwise; -1 makes an empty read a retryable "want read".
static inline long COpenSSLShims_BIO_set_mem_eof_return(BIO *bio, long value) {
    return BIO_set_mem_eof_return(bio, value);
}

static inline int COpenSSLShims_BIO_pending(BIO *bio) {
    return (int)BIO_pending(bio);
}

// SSL_VERIFY_* and SSL_FILETYPE_PEM are macros of integer literals Swift imports, but TLS1_2_VERSION is
// written as a hex literal with a cast in some builds; these constants keep the Swift side independent of that.
static inline int COpenSSLShims_TLS1_2_VERSION(void) { return TLS1_2_VERSION; }
static inline int COpenSSLShims_TLS1_3_VERSION(void) { return TLS1_3_VERSION; }

/// Makes a certificate and a fresh P-256 key, both as PEM strings the caller frees with OPENSSL_free.
/// Signed by (issuer_cert, issuer_key_pem), or self-signed when both are NULL. `san` is an IP address or a DNS
/// name put in subjectAltName (NULL for none); `is_ca` adds basicConstraints CA:TRUE.
/// Returns 1 on success and 0 on failure, leaving the reason in OpenSSL's error queue.
int COpenSSLShims_make_certificate(const char *common_name, const char *san, int is_ca, long valid_seconds,
                                   const char *issuer_cert_pem, const char *issuer_key_pem,
                                   char **cert_pem_out, char **key_pem_out);

#endif
