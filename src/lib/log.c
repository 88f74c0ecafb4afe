/*
 * log — stderr or syslog output, one line per call.  See log.h.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static int log_syslog;
static int log_verbose;
static const char *log_ident = "postern";
static pid_t log_pid;		/* getpid() once: a system call per line
				   showed in profiles (docs/performance.md) */

void
log_init(const char *ident, int to_syslog, int debug)
{
	log_ident = ident;
	log_pid = getpid();
	log_syslog = to_syslog;
	log_verbose = debug;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_debug(int debug)
{
	log_verbose = debug;
}

int
log_debug_enabled(void)
{
	return log_verbose;
}

static void
log_emit(int prio, const char *fmt, va_list ap, int with_errno)
{
	char line[LOG_LINE_MAX];
	int saved = errno;
	size_t n;

	if (prio == LOG_DEBUG && !log_verbose)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (with_errno) {
		n = strlen(line);
		snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved));
	}
	if (log_syslog) {
		syslog(prio, "%s", line);
	} else {
		char out[LOG_LINE_MAX + 64];
		struct timespec ts;
		struct tm tm;
		int len;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		len = snprintf(out, sizeof(out),
		    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d]: %s\n",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_ident,
		    (int)(log_pid ? log_pid : getpid()), line);
		if (len > (int)sizeof(out) - 1)
			len = sizeof(out) - 1;
		/* One write per line so that threads never interleave. */
		if (write(STDERR_FILENO, out, (size_t)len) < 0)
			(void)0;
	}
	errno = saved;
}

/*
 * The entry points differ only in their priority, whether strerror(errno)
 * is appended, and what follows (fatal and fatalx exit).
 */
#define LOG_FN(name, prio, errflag, then)		\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_emit(prio, fmt, ap, errflag);		\
	va_end(ap);					\
	then;						\
}

LOG_FN(log_info, LOG_INFO, 0, (void)0)
LOG_FN(log_debug, LOG_DEBUG, 0, (void)0)
LOG_FN(log_warn, LOG_WARNING, 1, (void)0)
LOG_FN(log_warnx, LOG_WARNING, 0, (void)0)
LOG_FN(fatal, LOG_CRIT, 1, exit(1))
LOG_FN(fatalx, LOG_CRIT, 0, exit(1))
