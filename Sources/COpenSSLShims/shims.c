#include "COpenSSLShims.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <string.h>

static char *bio_to_string(BIO *bio) {
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);
    if (length < 0) return NULL;
    char *copy = OPENSSL_malloc((size_t)length + 1);
    if (copy == NULL) return NULL;
    memcpy(copy, data, (size_t)length);
    copy[length] = 0;
    return copy;
}

static X509 *read_cert(const char *pem) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL) return NULL;
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return cert;
}

static EVP_PKEY *read_key(const char *pem) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL) return NULL;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return key;
}

static int add_extension(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) return 0;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

int COpenSSLShims_make_certificate(const char *common_name, const char *san, int is_ca, long valid_seconds,
                                   const char *issuer_cert_pem, const char *issuer_key_pem,
                                   char **cert_pem_out, char **key_pem_out) {
    int ok = 0;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    X509 *issuer = NULL;
    EVP_PKEY *issuer_key = NULL;
    BIO *cert_bio = BIO_new(BIO_s_mem());
    BIO *key_bio = BIO_new(BIO_s_mem());
    if (key == NULL || cert == NULL || cert_bio == NULL || key_bio == NULL) goto done;

    if (issuer_cert_pem != NULL && issuer_key_pem != NULL) {
        issuer = read_cert(issuer_cert_pem);
        issuer_key = read_key(issuer_key_pem);
        if (issuer == NULL || issuer_key == NULL) goto done;
    }

    unsigned char serial[8];
    if (RAND_bytes(serial, sizeof serial) != 1) goto done;
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (bn == NULL) goto done;
    int serial_ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    if (!serial_ok) goto done;

    if (X509_set_version(cert, 2) != 1) goto done;
    if (X509_gmtime_adj(X509_getm_notBefore(cert), -60) == NULL) goto done;
    if (X509_gmtime_adj(X509_getm_notAfter(cert), valid_seconds) == NULL) goto done;
    if (X509_set_pubkey(cert, key) != 1) goto done;
    X509_NAME *name = X509_get_subject_name(cert);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)common_name, -1, -1, 0) != 1)
        goto done;
    if (X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name) != 1) goto done;

    X509 *ext_issuer = issuer ? issuer : cert;
    if (!add_extension(cert, ext_issuer, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE")) goto done;
    if (!add_extension(cert, ext_issuer, NID_key_usage,
                       is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment"))
        goto done;
    if (!add_extension(cert, ext_issuer, NID_subject_key_identifier, "hash")) goto done;
    if (issuer && !add_extension(cert, ext_issuer, NID_authority_key_identifier, "keyid:always")) goto done;
    if (!is_ca && !add_extension(cert, ext_issuer, NID_ext_key_usage, "serverAuth,clientAuth")) goto done;
    if (san != NULL) {
        char value[300];
        unsigned char ip[16];
        int is_ip = inet_pton(AF_INET, san, ip) == 1 || inet_pton(AF_INET6, san, ip) == 1;
        if (strlen(san) > 250) goto done;
        snprintf(value, sizeof value, "%s:%s", is_ip ? "IP" : "DNS", san);
        if (!add_extension(cert, ext_issuer, NID_subject_alt_name, value)) goto done;
    }
    if (X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()) == 0) goto done;

    if (PEM_write_bio_X509(cert_bio, cert) != 1) goto done;
    if (PEM_write_bio_PrivateKey(key_bio, key, NULL, NULL, 0, NULL, NULL) != 1) goto done;
    *cert_pem_out = bio_to_string(cert_bio);
    *key_pem_out = bio_to_string(key_bio);
    ok = *cert_pem_out != NULL && *key_pem_out != NULL;

done:
    BIO_free(cert_bio);
    BIO_free(key_bio);
    X509_free(issuer);
    EVP_PKEY_free(issuer_key);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok;
}
