/*
 * fuzz_queue — libFuzzer harness for the spool readers: the envelope
 * decoder and the trailer parser (a corrupt queue file must be refused,
 * never crash) and the delivery state log replay.  A decoded envelope must encode and decode
 * again to the same thing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "queue_state.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_envelope *env, *again;
	struct queue_state qs;
	char err[256], *enc;
	size_t envlen, enclen, len2;

	env = queue_envelope_decode((const char *)data, size, &envlen, err,
	    sizeof(err));
	if (env != NULL) {
		if (envlen > size)
			abort();
		enc = queue_envelope_encode(env, &enclen);
		if (enc != NULL) {
			again = queue_envelope_decode(enc, enclen, &len2, err,
			    sizeof(err));
			if (again == NULL || len2 != enclen ||
			    again->nrcpts != env->nrcpts ||
			    strcmp(again->sender, env->sender) != 0)
				abort();
			queue_envelope_free(again);
			free(enc);
		}
		queue_envelope_free(env);
	}
	if (size >= QUEUE_TRAILER_LEN) {
		uint64_t off;
		char again_t[QUEUE_TRAILER_LEN + 1];

		if (queue_trailer_decode((const char *)data + size -
		    QUEUE_TRAILER_LEN, QUEUE_TRAILER_LEN, &off) == 0) {
			queue_trailer_encode(again_t, off);
			if (memcmp(again_t, data + size - QUEUE_TRAILER_LEN,
			    QUEUE_TRAILER_LEN) != 0)
				abort();
		}
	}
	queue_state_init(&qs, 1 + (size ? data[0] % 8 : 0));
	queue_state_apply(&qs, (const char *)data, size);
	if (queue_state_pending(&qs) > qs.nrcpts)
		abort();
	queue_state_free(&qs);
	return 0;
}
