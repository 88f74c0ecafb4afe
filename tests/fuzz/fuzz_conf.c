/*
 * fuzz_conf — libFuzzer harness for the configuration parser: any text
 * must load or fail with a "NAME:LINE: message" error, never crash or
 * leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONF_ERR_MAX];
	struct conf *c;
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	if (conf_load_string("f.conf", text, &c, err, sizeof(err)) == 0)
		conf_unref(c);
	else if (strncmp(err, "f.conf", 6) != 0)
		abort();	/* every error names the file */
	free(text);
	return 0;
}
