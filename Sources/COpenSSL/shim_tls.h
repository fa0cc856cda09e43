// TLS client and server (probe, simulator). See shim.h.
#ifndef CERTROLL_SHIM_TLS_H
#define CERTROLL_SHIM_TLS_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#endif
