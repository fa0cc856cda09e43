// TLS client and server (probe, simulator). See shim.h.
#ifndef CERTROLL_SHIM_TLS_H
#define CERTROLL_SHIM_TLS_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include <openssl/evp.h>

// SSL_set_tlsext_host_name is a macro over SSL_ctrl.
static inline int certroll_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

// SSL_CTX_set_min_proto_version is a macro over SSL_CTX_ctrl.
static inline int certroll_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

// SSL_CTX_set_max_proto_version is a macro over SSL_CTX_ctrl.
static inline int certroll_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

// sk_X509_num is a type-safe macro over OPENSSL_sk_num.
static inline int certroll_sk_X509_num(const STACK_OF(X509) *stack) {
    return sk_X509_num(stack);
}

// sk_X509_value is a type-safe macro over OPENSSL_sk_value.
static inline X509 *certroll_sk_X509_value(const STACK_OF(X509) *stack, int index) {
    return sk_X509_value(stack, index);
}

// sk_X509_new_null is a type-safe macro over OPENSSL_sk_new_null.
static inline STACK_OF(X509) *certroll_sk_X509_new_null(void) {
    return sk_X509_new_null();
}

// sk_X509_push is a type-safe macro over OPENSSL_sk_push.
static inline int certroll_sk_X509_push(STACK_OF(X509) *stack, X509 *cert) {
    return sk_X509_push(stack, cert);
}

// sk_X509_pop_free is a type-safe macro taking a function pointer Swift cannot form.
static inline void certroll_sk_X509_pop_free_all(STACK_OF(X509) *stack) {
    sk_X509_pop_free(stack, X509_free);
}

// SSL_CTX_set_mode is a macro over SSL_CTX_ctrl.
static inline long certroll_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

#endif
