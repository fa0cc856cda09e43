// The one door to libssh2. Swift imports libssh2's functions directly; this
// header adds `static inline certroll_*` wrappers only for what Swift cannot
// import (function-like macros), each with a one-line reason. Every wrapper
// takes explicit byte lengths: callers pass `utf8.count`, never `strlen`.
#ifndef CERTROLL_CLIBSSH2_SHIM_H
#define CERTROLL_CLIBSSH2_SHIM_H
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <libssh2_publickey.h>

// libssh2_session_init is a macro (default allocators).
static inline LIBSSH2_SESSION *certroll_session_init(void) {
    return libssh2_session_init_ex(NULL, NULL, NULL, NULL);
}

// libssh2_channel_open_session is a macro (channel type "session", default window).
static inline LIBSSH2_CHANNEL *certroll_channel_open_session(LIBSSH2_SESSION *session) {
    return libssh2_channel_open_ex(session, "session", sizeof("session") - 1,
                                   LIBSSH2_CHANNEL_WINDOW_DEFAULT,
                                   LIBSSH2_CHANNEL_PACKET_DEFAULT, NULL, 0);
}

// libssh2_channel_exec is a macro (request "exec"); takes the command's byte length.
static inline int certroll_channel_exec(LIBSSH2_CHANNEL *channel, const char *command,
                                        unsigned int command_len) {
    return libssh2_channel_process_startup(channel, "exec", sizeof("exec") - 1,
                                           command, command_len);
}

// libssh2_channel_read is a macro (stream 0).
static inline ssize_t certroll_channel_read(LIBSSH2_CHANNEL *channel, char *buf, size_t len) {
    return libssh2_channel_read_ex(channel, 0, buf, len);
}

// libssh2_channel_read_stderr is a macro (extended data stream 1).
static inline ssize_t certroll_channel_read_stderr(LIBSSH2_CHANNEL *channel, char *buf, size_t len) {
    return libssh2_channel_read_ex(channel, SSH_EXTENDED_DATA_STDERR, buf, len);
}

// libssh2_channel_write is a macro (stream 0).
static inline ssize_t certroll_channel_write(LIBSSH2_CHANNEL *channel, const char *buf, size_t len) {
    return libssh2_channel_write_ex(channel, 0, buf, len);
}

// libssh2_sftp_open is a macro (strlen, LIBSSH2_SFTP_OPENFILE); takes the path's byte length.
static inline LIBSSH2_SFTP_HANDLE *certroll_sftp_open(LIBSSH2_SFTP *sftp, const char *path,
                                                      unsigned int path_len,
                                                      unsigned long flags, long mode) {
    return libssh2_sftp_open_ex(sftp, path, path_len, flags, mode, LIBSSH2_SFTP_OPENFILE);
}

// libssh2_sftp_mkdir is a macro (strlen).
static inline int certroll_sftp_mkdir(LIBSSH2_SFTP *sftp, const char *path,
                                      unsigned int path_len, long mode) {
    return libssh2_sftp_mkdir_ex(sftp, path, path_len, mode);
}

// libssh2_sftp_unlink is a macro (strlen).
static inline int certroll_sftp_unlink(LIBSSH2_SFTP *sftp, const char *path,
                                       unsigned int path_len) {
    return libssh2_sftp_unlink_ex(sftp, path, path_len);
}

// libssh2_sftp_stat is a macro (strlen, LIBSSH2_SFTP_STAT: follows symlinks).
static inline int certroll_sftp_stat(LIBSSH2_SFTP *sftp, const char *path,
                                     unsigned int path_len, LIBSSH2_SFTP_ATTRIBUTES *attrs) {
    return libssh2_sftp_stat_ex(sftp, path, path_len, LIBSSH2_SFTP_STAT, attrs);
}

// libssh2_sftp_setstat is a macro (strlen, LIBSSH2_SFTP_SETSTAT).
static inline int certroll_sftp_setstat(LIBSSH2_SFTP *sftp, const char *path,
                                        unsigned int path_len, LIBSSH2_SFTP_ATTRIBUTES *attrs) {
    return libssh2_sftp_stat_ex(sftp, path, path_len, LIBSSH2_SFTP_SETSTAT, attrs);
}

// libssh2_sftp_fstat is a macro (setstat flag 0).
static inline int certroll_sftp_fstat(LIBSSH2_SFTP_HANDLE *handle, LIBSSH2_SFTP_ATTRIBUTES *attrs) {
    return libssh2_sftp_fstat_ex(handle, attrs, 0);
}

// libssh2_sftp_fsetstat is a macro (setstat flag 1).
static inline int certroll_sftp_fsetstat(LIBSSH2_SFTP_HANDLE *handle, LIBSSH2_SFTP_ATTRIBUTES *attrs) {
    return libssh2_sftp_fstat_ex(handle, attrs, 1);
}

#endif
