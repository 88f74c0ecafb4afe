/*
 * postern_limits — every input limit of postern in one place.
 *
 * Each has a reply code where a peer can reach it, a log line, and a test
 * that sends limit + 1.  Per-virtual-server limits (message size,
 * recipients, connections, errors, timeout) live in the configuration; these
 * are the fixed protocol ones.
 */
#ifndef POSTERN_LIMITS_H
#define POSTERN_LIMITS_H

/* RFC 5321 4.5.3.1.4: 512 octets with CRLF, plus the 4.5.3.1.6 / RFC 1869
 * allowance for MAIL/RCPT parameters (SIZE, BODY, SMTPUTF8, RET, ENVID,
 * NOTIFY, ORCPT): we grant 512 more. 500 5.5.2 past it. */
#define SMTP_CMD_LINE_MAX	1024	/* octets, without CRLF */
#define SMTP_TEXT_LINE_MAX	998	/* octets, without CRLF (RFC 5322) */
#define SMTP_RECEIVED_MAX	50	/* more Received: = loop, 554 5.4.6 */
#define SMTP_HEADER_BLOCK_MAX	(1024 * 1024)	/* header section */
#define SMTP_RCPT_EXPANDED_MAX	10000	/* final recipients of one message,
					   lists expanded: 452 4.5.3 past it */
#define SMTP_HELO_MAX		255	/* a domain or address literal */
#define SMTP_REPLY_MAX		512	/* one reply line we emit */
#define SMTP_PIPELINE_MAX	(64 * 1024) /* unread pipelined input kept */
#define SMTP_MSG_BUF_MAX	(32 * 1024) /* message bytes a session holds;
					       past it they go to the spool */
#define SMTP_MSG_FLUSH_ROOM	4096	/* written out when less is free */
#define SMTP_OUTPUT_MAX		(256 * 1024) /* unsent replies before we stop
					       reading from that client */

#define ADDR_LOCAL_MAX		64	/* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX		255	/* RFC 5321 4.5.3.1.2 */
#define ADDR_PATH_MAX		256	/* RFC 5321 4.5.3.1.3, with <> */
#define ADDR_PARAM_MAX		500	/* an ENVID or ORCPT value (RFC 3461) */

#define CONF_FILE_MAX		(4 * 1024 * 1024)
#define CONF_LINE_MAX		8192
#define DIRECTORY_FILE_MAX	(256 * 1024 * 1024)
#define DIRECTORY_LINE_MAX	8192
#define DIRECTORY_DEPTH_MAX	10	/* alias nesting, then 550 5.4.6 */
#define DIRECTORY_EXPAND_MAX	1000	/* addresses from one recipient */
#define DIRECTORY_CACHE_MAX	100000	/* cached directory answers; past it
					   the oldest is forgotten */
#define DIRECTORY_CACHE_BYTES_MAX (64 * 1024 * 1024) /* and their bytes */

/* directory ldap (docs/ldap.md) */
#define LDAP_FILTER_MAX		4096	/* a filter with the address put in:
					   longer is a TEMPFAIL (451 4.3.0) */
#define LDAP_ENTRIES_MAX	8	/* entries one search may return (the
					   size limit asked); more: TEMPFAIL */
#define LDAP_VALUES_MAX		(DIRECTORY_EXPAND_MAX + 1) /* values kept
					   of one attribute of one entry */
#define LDAP_VALUE_MAX		1024	/* octets of one value; longer ones
					   are skipped with a warning */
#define LDAP_FILTER_ITEMS_MAX	16	/* (attr=...%s...) items compared to
					   pick the exact entry */
#define LDAP_PASSWORD_MAX	1024	/* the password-file */
#define LDAP_BACKOFF_MIN	1	/* seconds before reconnecting after a
					   failure, doubling up to */
#define LDAP_BACKOFF_MAX	30
#define LDAP_CONNECT_THREADS_MAX 8	/* connects run off the loop, one
					   thread per uri up to this */

#define SENDERLIST_FILE_MAX	(64 * 1024 * 1024) /* block-senders-file */
#define SENDERLIST_LINE_MAX	1024
#define RATELIMIT_KEYS_MAX	65536	/* client addresses tracked; past it
					   the oldest is forgotten */
/* AUTH (docs/tls.md): password checks waiting for or on the verifier's
 * thread (src/smtpd/auth.c), in all and from one client (netaddr_limit_key(): an
 * IPv6 client is its /64); past either, 454 4.7.0 at once, nothing queued,
 * so a guesser with many connections cannot make honest users wait. */
#define AUTH_VERIFY_QUEUE_MAX	128
#define AUTH_VERIFY_CLIENT_MAX	8
#define DNSBL_ZONE_MAX		189	/* so that the 64 octets of a
					   reversed IPv6 address still fit
					   in a 253-octet name */

#define QUEUE_ENVELOPE_MAX	(16 * 1024 * 1024) /* envelope part of a file */

#endif
