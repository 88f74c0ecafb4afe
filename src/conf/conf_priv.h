/*
 * conf_priv — what the files of the configuration module share, and no one
 * else: the parameter tables, the parser's context, and the
 * value parsers the statement handlers use.
 *
 * conf_lex.c   words and lines
 * conf_parse.c the block grammar, the typed setters, the value parsers
 * conf_params.c the tables of the top level, connector, queue and directory
 *              ldap blocks, and their statements with a grammar of their own
 * conf_vserver.c the same for the virtual-server and filter blocks
 * conf_auth.c the authentication, dkim-key and dkim-sign keywords
 * conf_milter.c the milter blocks and a virtual server's milters
 * conf_cluster.c the cluster block (the shared Redis, this node's name)
 * conf_check.c the checks that need a whole block or the whole file
 * conf.c       load, reference counting, free, lookups, computed defaults
 */
#ifndef POSTERN_CONF_PRIV_H
#define POSTERN_CONF_PRIV_H

#include <stdint.h>

#include "conf.h"
#include "conf_lex.h"

#define CONF_DEPTH_MAX	3	/* top level > virtual-server > filter */
#define CONF_PARAMS_MAX	32	/* keywords of one block */
#define CONF_NAME_MAX	64	/* virtual-server, connector, dns-list names */

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define CONF_CHECK_TABLE(t) \
	_Static_assert(nitems(t) <= CONF_PARAMS_MAX, #t " too long")
#define CONF_ADDR_USAGE	"IPv4, IPv4:port, [IPv6] or [IPv6]:port"

/* How a keyword's values are read and where they are stored. */
enum conf_ptype {
	CONF_T_STR,		/* char *: one word */
	CONF_T_TEXT,		/* char *: printable ASCII (banner) */
	CONF_T_PATH,		/* char *: a file name */
	CONF_T_HOST,		/* char *: a host name, lowercased */
	CONF_T_UINT,		/* unsigned */
	CONF_T_SIZE,		/* uint64_t bytes: K, M, G suffixes (1024) */
	CONF_T_DUR,		/* unsigned seconds: s, m, h, d */
	CONF_T_DUR_MS,		/* unsigned milliseconds: ms, s, m, h, d */
	CONF_T_BOOL,		/* int: yes | no */
	CONF_T_ENUM,		/* an int-sized enum: one of `words` */
	CONF_T_DURLIST,		/* unsigned * + size_t: durations */
	CONF_T_CIDRLIST,	/* struct cidr * + size_t, appended to */
	CONF_T_DOMAINLIST,	/* char ** + size_t, appended to */
	CONF_T_DNSREF,		/* struct conf_dnslist *: conf_dns_ref */
	CONF_T_FN,		/* a grammar of its own: fn */
	CONF_T_BLOCK,		/* opens a block: fn sets p->newbase */
};

#define CONF_F_REPEAT	0x01	/* may be written more than once */
#define CONF_F_NOBLOCK	0x02	/* CONF_T_BLOCK that may also stand alone */

struct conf_pctx;
struct conf_param;
struct conf_frame;

/* One statement: the keyword, its values, where it stands. */
struct conf_stmt {
	const char		*kw;
	const struct conf_tok	*av;
	size_t			 ac;	/* values, without a final "{" */
	int			 line;
	int			 opens;	/* the line ends with "{" */
};

typedef int (*conf_setter)(struct conf_pctx *, const struct conf_param *,
    void *base, const struct conf_stmt *);

struct conf_word {
	const char	*word;
	int		 value;
};

/* One row of a block's table: {name, type, min, max, default, offset, doc} */
struct conf_param {
	const char		*name;
	enum conf_ptype		 type;
	unsigned		 flags;
	uint64_t		 min;	/* numbers: in the stored unit */
	uint64_t		 max;	/* numbers; strings: length (0: any) */
	const char		*def;	/* as written in the file; NULL: none,
					   or computed (doc says how) */
	size_t			 off;	/* the field in the block's struct */
	size_t			 noff;	/* its count, for lists */
	const struct conf_word	*words;	/* CONF_T_ENUM, ends with NULL */
	const char		*role;	/* CONF_T_DNSREF: the name of a list
					   given by its servers */
	conf_setter		 fn;	/* CONF_T_FN, CONF_T_BLOCK */
	const struct conf_block	*block;	/* CONF_T_BLOCK: the block it opens */
	const char		*doc;
};

struct conf_block {
	const char		*name;	/* "virtual-server", ... */
	const char		*where;	/* "at top level", "in a filter block" */
	const struct conf_param	*params;
	size_t			 nparams;
	/* Checks once the block is complete; NULL: none. */
	int			(*close)(struct conf_pctx *, struct conf_frame *);
};

struct conf_frame {
	const struct conf_block	*block;
	void			*base;
	int			 line;	/* of the opening statement */
	int			 seen[CONF_PARAMS_MAX]; /* first line of each
						   keyword, 0: not given */
};

/* A DNS list named before the parser has seen the whole file. */
struct conf_dnsref {
	struct conf_dnslist	**slot;
	char			 *name;
	int			  line;
};

struct conf_pctx {
	struct conf		*conf;
	const char		*name;	/* file name for messages */
	char			*err;
	size_t			 errlen;
	int			 errline; /* conf_check: lowest line so far */
	struct conf_frame	 stack[CONF_DEPTH_MAX];
	int			 depth;
	void			*newbase; /* set by a block opener */
	struct conf_dnsref	*refs;
	size_t			 nrefs;
};

/* conf_params.c, conf_vserver.c */
extern const struct conf_block	conf_block_top, conf_block_vserver,
				conf_block_filter, conf_block_connector,
				conf_block_queue, conf_block_ldap,
				conf_block_authentication, conf_block_dkim_key,
				conf_block_milter, conf_block_cluster;
extern const struct conf_block	*const conf_blocks[];
extern const size_t		 conf_nblocks;
int	conf_dns_ref(struct conf_pctx *p, const struct conf_stmt *st,
	    struct conf_dnslist **slot, const char *role);

/* conf_parse.c */
int	conf_parse(struct conf *c, const char *name, const char *text,
	    size_t len, char *err, size_t errlen);
int	conf_perr(struct conf_pctx *p, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	conf_defaults(struct conf_pctx *p, const struct conf_block *b,
	    void *base, int line);
const struct conf_param *conf_param_find(const struct conf_block *b,
	    const char *name, size_t *idx);
int	conf_seen_line(const struct conf_frame *f, const char *kw);
int	conf_need_args(struct conf_pctx *p, const struct conf_stmt *st,
	    size_t min, size_t max);
int	conf_val_uint(struct conf_pctx *p, const struct conf_stmt *st,
	    const char *s, uint64_t min, uint64_t max, uint64_t *out);
int	conf_val_dur(struct conf_pctx *p, const struct conf_stmt *st,
	    const char *s, uint64_t min, uint64_t max, int ms, unsigned *out);
int	conf_val_domain(struct conf_pctx *p, const struct conf_stmt *st,
	    const char *s, const char *what, char **out);
int	conf_val_cidr(struct conf_pctx *p, const struct conf_stmt *st,
	    const char *s, struct cidr *out);
int	conf_val_name(struct conf_pctx *p, const struct conf_stmt *st,
	    const char *s, const char *what);
int	conf_is_domain(const char *s);

/* conf_check.c */
int	conf_check_vserver(struct conf_pctx *, struct conf_frame *);
int	conf_check_connector(struct conf_pctx *, struct conf_frame *);
int	conf_check_filter(struct conf_pctx *, struct conf_frame *);
int	conf_check_queue(struct conf_pctx *, struct conf_frame *);
int	conf_check_ldap(struct conf_pctx *, struct conf_frame *);
int	conf_check_top(struct conf_pctx *, struct conf_frame *);

/* conf_auth.c */
int	conf_h_authentication(struct conf_pctx *, const struct conf_param *,
	    void *, const struct conf_stmt *);
int	conf_h_dkim_key(struct conf_pctx *, const struct conf_param *, void *,
	    const struct conf_stmt *);
int	conf_h_dkim_sign(struct conf_pctx *, const struct conf_param *, void *,
	    const struct conf_stmt *);
int	conf_check_dkim_key(struct conf_pctx *, struct conf_frame *);
int	conf_auth_resolve(struct conf_pctx *p);
/* conf_milter.c */
int	conf_h_milter(struct conf_pctx *, const struct conf_param *, void *,
	    const struct conf_stmt *);
int	conf_h_milters(struct conf_pctx *, const struct conf_param *, void *,
	    const struct conf_stmt *);
int	conf_check_milter(struct conf_pctx *, struct conf_frame *);
int	conf_milter_resolve(struct conf_pctx *p);
/* conf_cluster.c */
int	conf_h_cluster(struct conf_pctx *, const struct conf_param *, void *,
	    const struct conf_stmt *);
int	conf_check_cluster(struct conf_pctx *, struct conf_frame *);
void	conf_cluster_finish(struct conf *c);
void	conf_cluster_free(struct conf_cluster *cl);
/* conf.c */
struct conf_dnslist *conf_dnslist_add(struct conf *c, const char *name,
	    int line, int unnamed);
void	conf_strv_add(char ***v, size_t *n, char *s);

#endif
