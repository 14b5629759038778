/* \summary: runs a fuzz target's entry point over files, without libFuzzer:
 * `make check` replays the kept corpora and every past crash this way,
 * under ASan and UBSan. */
#include <stdio.h>
#include <stdlib.h>
#include "panne/types.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		if (!fp) {
			fprintf(stderr, "replay: %s: cannot open\n", argv[i]);
			return 2;
		}
		static u8 buf[1 << 20];
		size_t n = fread(buf, 1, sizeof buf, fp);
		fclose(fp);
		u8 *copy = malloc(n ? n : 1); /* exact size, so overreads are caught */
		for (size_t j = 0; j < n; j++)
			copy[j] = buf[j];
		LLVMFuzzerTestOneInput(copy, n);
		free(copy);
	}
	printf("replay: %d inputs, no crash\n", argc - 1);
	return 0;
}
