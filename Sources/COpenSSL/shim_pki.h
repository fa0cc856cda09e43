// Keys, X.509, CSRs, chains. See shim.h.
#ifndef CERTROLL_SHIM_PKI_H
#define CERTROLL_SHIM_PKI_H
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <openssl/crypto.h>
#endif
