/*
 * fuzz_control — libFuzzer harness for the control socket's frames
 * (control_proto.c), called directly.
 *
 * The input is a stream of bytes as a client might send it: frames are
 * decoded one after the other, as control.c and posternctl do, with the
 * request limit; every decoded frame must lie inside the input, its
 * fields inside the frame, and encoding its fields again must give back
 * exactly the same bytes (the codec has one spelling per message).
 *   make fuzz        (libFuzzer, FUZZ_TIME seconds a harness)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control_proto.h"

static struct control_msg msg;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0, used;

	while (off < size) {
		const char *f[CONTROL_FIELDS_MAX];
		char *copies[CONTROL_FIELDS_MAX];
		enum control_decode rc;
		size_t len;
		void *again;

		rc = control_decode(data + off, size - off, CONTROL_REQUEST_MAX,
		    &msg, &used);
		if (rc != CONTROL_OK)
			break;
		if (used < CONTROL_HDR_LEN || used > size - off)
			abort();
		for (unsigned i = 0; i < msg.nfields; i++) {
			if ((const uint8_t *)msg.f[i].p < data + off ||
			    (const uint8_t *)msg.f[i].p + msg.f[i].len >
			    data + off + used)
				abort();
			copies[i] = control_field_dup(&msg.f[i]);
			f[i] = copies[i];
		}
		again = control_encode(msg.type, f, msg.nfields, &len);
		if (again == NULL || len != used ||
		    memcmp(again, data + off, used) != 0)
			abort();
		free(again);
		for (unsigned i = 0; i < msg.nfields; i++)
			free(copies[i]);
		off += used;
	}
	return 0;
}
