/*
 * replay_main — run a libFuzzer harness over corpus files without
 * libFuzzer, so that `make check` replays every seed and every former
 * crash under ASan+UBSan (a regression suite) on any machine with a C
 * compiler.  Usage: fuzz_X FILE...; exits non-zero if a file cannot be
 * read (a crash aborts by itself).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char *argv[])
{
	int ran = 0;

	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		uint8_t *buf;
		long len;

		if (f == NULL || fseek(f, 0, SEEK_END) == -1 ||
		    (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) == -1) {
			fprintf(stderr, "%s: cannot read\n", argv[i]);
			return 1;
		}
		buf = malloc((size_t)len + 1);
		if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
			fprintf(stderr, "%s: cannot read\n", argv[i]);
			return 1;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)len);
		free(buf);
		ran++;
	}
	printf("%s: %d input(s) replayed\n", argv[0], ran);
	return 0;
}
