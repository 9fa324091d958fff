/* replay: run a libFuzzer target over files, without libFuzzer. `make
 * check` replays each target's corpus under ASan/UBSan with gcc; `make
 * fuzz` builds the same targets with clang -fsanitize=fuzzer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char *argv[])
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		FILE	*f = fopen(argv[i], "rb");
		uint8_t	*buf;
		long	 len;

		if (f == NULL) {
			perror(argv[i]);
			return 2;
		}
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		rewind(f);
		if ((buf = malloc((size_t)len + 1)) == NULL ||
		    fread(buf, 1, (size_t)len, f) != (size_t)len) {
			fclose(f);
			return 2;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)len);
		free(buf);
		n++;
	}
	printf("replayed %d input(s)\n", n);
	return 0;
}
