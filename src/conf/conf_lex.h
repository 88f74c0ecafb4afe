/*
 * conf_lex — the tokenizer of postern.conf (postern.conf(5)).
 *
 * It turns the text into statements, one per line: blank-separated words,
 * double-quoted strings (escapes \" and \\ only), and the braces `{` `}`,
 * which stand alone even when written against a word.  `#` outside quotes
 * starts a comment.  A quoted string ends on its own line: one still open at
 * the end of the line is an error on that line, the line it started on.
 * Lines are limited to CONF_LINE_MAX characters; the caller limits the
 * text to CONF_FILE_MAX.  The lexer knows nothing of keywords.
 */
#ifndef POSTERN_CONF_LEX_H
#define POSTERN_CONF_LEX_H

#include <stddef.h>

struct conf_tok {
	char	*s;		/* the word, unescaped, NUL-terminated */
	int	 quoted;	/* written as "..." (never a brace) */
};

struct conf_line {
	int		 lineno;
	size_t		 ntok;
	struct conf_tok	*tok;
	size_t		 cap;
};

struct conf_lexer {
	const char	*name;		/* file name, for messages */
	const char	*p;
	const char	*end;
	int		 lineno;	/* of the line last returned */
};

void	conf_lex_init(struct conf_lexer *lx, const char *name,
	    const char *text, size_t len);
/*
 * The next line into ln (whose previous tokens are released): 1, possibly
 * with no tokens (blank or comment line); 0 at the end of the text; -1 with
 * "FILE:LINE: message" in err.
 */
int	conf_lex_line(struct conf_lexer *lx, struct conf_line *ln, char *err,
	    size_t errlen);
void	conf_line_free(struct conf_line *ln);
/* Is the token the unquoted brace `c`? */
int	conf_tok_is(const struct conf_tok *t, char c);

/* "NAME:LINE: message" (or "NAME: message" when line is 0) into err. */
void	conf_errf(char *err, size_t errlen, const char *name, int line,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
