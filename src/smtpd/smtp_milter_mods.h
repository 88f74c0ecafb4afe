/*
 * smtp_milter_mods — the changes filters ask at the end of a message,
 * turned into the edits of a message check (smtp_msgcheck.h): header
 * fields added at the end of the header, inserted at an index, changed or
 * deleted (the n-th field of a name); the body replaced; recipients added
 * and removed.  Offsets are in the message as streamed (the gateway's
 * Received: first), which is the header the filters saw.
 */
#ifndef POSTERN_SMTP_MILTER_MODS_H
#define POSTERN_SMTP_MILTER_MODS_H

#include <stddef.h>
#include <stdint.h>

#include "milter_conn.h"
#include "msg_header.h"
#include "queue.h"

struct smtp_milter_edits {
	struct queue_envelope	 e;	/* the cuts, with their text */
	char			**add;	/* recipients */
	size_t			  nadd;
	char			**del;
	size_t			  ndel;
};

/* One filter's changes (a->mods, a->body): 0, or -1 with why in err (a
 * change that collides with another, or cannot be stored). */
int	smtp_milter_mods_apply(struct smtp_milter_edits *ed,
	    const struct msg_header *h, uint64_t size,
	    const struct milter_answer *a, char *err, size_t errlen);
void	smtp_milter_mods_free(struct smtp_milter_edits *ed);

#endif
