// The one door to OpenSSL 3. Swift imports OpenSSL's functions directly; this
// header adds `static inline certroll_*` wrappers only for what Swift cannot
// import (function-like macros, variadic functions). Each has a one-line reason.
// Wrappers are split by area so that work on one area does not touch another.
#ifndef CERTROLL_COPENSSL_SHIM_H
#define CERTROLL_COPENSSL_SHIM_H
#include "shim_pki.h"
#include "shim_tls.h"
#endif
