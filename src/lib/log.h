/*
 * log — the one vocabulary for messages (after OpenSMTPD's log.h).
 *
 * log_warn appends strerror(errno); log_warnx does not.  fatal/fatalx log and
 * exit(1): they are for start-up and broken invariants only, never for
 * anything that arrives from the network.  Lines go to stderr or syslog.
 * Safe to call from any thread (one write per line).
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdarg.h>

#define LOG_LINE_MAX 2048	/* longer messages are truncated, never split */

void log_init(const char *ident, int to_syslog, int debug);
void log_set_debug(int debug);
int  log_debug_enabled(void);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
