// The one door to libssh2. Swift imports libssh2's functions directly; this
// header adds `static inline certroll_*` wrappers only for what Swift cannot
// import (function-like macros), each with a one-line reason.
#ifndef CERTROLL_CLIBSSH2_SHIM_H
#define CERTROLL_CLIBSSH2_SHIM_H
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <libssh2_publickey.h>
#endif
