// Keys, X.509, CSRs, chains. See shim.h.
#ifndef CERTROLL_SHIM_PKI_H
#define CERTROLL_SHIM_PKI_H
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <openssl/crypto.h>

// EVP_RSA_gen is a macro over the variadic EVP_PKEY_Q_keygen.
static inline EVP_PKEY *certroll_EVP_RSA_gen(unsigned int bits) {
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

// EVP_EC_gen is a macro over the variadic EVP_PKEY_Q_keygen.
static inline EVP_PKEY *certroll_EVP_EC_gen(const char *curve) {
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

// BIO_get_mem_data is a function-like macro over BIO_ctrl.
static inline long certroll_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

// OPENSSL_free is a function-like macro (adds file/line).
static inline void certroll_OPENSSL_free(void *pointer) {
    OPENSSL_free(pointer);
}

// sk_GENERAL_NAME_num is a type-safe stack macro.
static inline int certroll_sk_GENERAL_NAME_num(const GENERAL_NAMES *names) {
    return sk_GENERAL_NAME_num(names);
}

// sk_GENERAL_NAME_value is a type-safe stack macro.
static inline GENERAL_NAME *certroll_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int index) {
    return sk_GENERAL_NAME_value(names, index);
}

// sk_X509_EXTENSION_new_null is a type-safe stack macro.
static inline STACK_OF(X509_EXTENSION) *certroll_sk_X509_EXTENSION_new_null(void) {
    return sk_X509_EXTENSION_new_null();
}

// sk_X509_EXTENSION_push is a type-safe stack macro.
static inline int certroll_sk_X509_EXTENSION_push(STACK_OF(X509_EXTENSION) *stack, X509_EXTENSION *extension) {
    return sk_X509_EXTENSION_push(stack, extension);
}

// sk_X509_EXTENSION_pop_free is a type-safe stack macro taking a free function.
static inline void certroll_sk_X509_EXTENSION_free_all(STACK_OF(X509_EXTENSION) *stack) {
    sk_X509_EXTENSION_pop_free(stack, X509_EXTENSION_free);
}

// XN_FLAG_RFC2253 is a composite macro; we also drop ASN1_STRFLGS_ESC_MSB so UTF-8 names print as text.
static inline unsigned long certroll_name_print_flags(void) {
    return XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
}

#endif
