/* fuzz_elf.c — libFuzzer target for what `polyplug check --strict` reads
 * from a shared library (tools/cli_elf.c): the section headers, PT_DYNAMIC
 * and its hash tables. Each input is read as the bytes of a file, from a
 * copy of exactly its size, and again from a file through the path the CLI
 * takes. `make fuzz` builds it with ASan+UBSan. */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seen {
	const char *file;
	size_t len;
	int count;
} seen;

/* Each name lies in the file and ends there (ASan sees strlen run past). */
static void found(void *ud, const char *symbol)
{
	seen *s = ud;
	if (symbol < s->file || symbol + strlen(symbol) >= s->file + s->len)
		abort();
	s->count++;
}

static void count_only(void *ud, const char *symbol)
{
	(void)symbol;
	++*(int *)ud;
}

static char path[] = "/tmp/pp_fuzz_elf_XXXXXX";

static void remove_file(void)
{
	remove(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *file = malloc(size ? size : 1); /* aligned as the CLI's read is */
	if (!file)
		return 0;
	memcpy(file, data, size);
	seen s = {file, size, 0};
	int n = cli_exports_in(file, size, found, &s);
	const Elf64_Ehdr *eh = (const void *)file;
	bool elf64 = size >= sizeof *eh && memcmp(data, ELFMAG, SELFMAG) == 0 &&
	             data[EI_CLASS] == ELFCLASS64;
	/* what the CLI is told: -1 not a library, -2 a library it cannot check
	 * (named by the caller), else the count of what it was handed */
	if (n < -2 || (n >= 0 && n != s.count) || (n < 0 && s.count) || (!elf64 && n != -1) ||
	    (n == -2 && eh->e_type != ET_DYN) || (n == -1 && elf64 && eh->e_type == ET_DYN))
		abort();
	free(file);

	if (path[sizeof path - 2] == 'X') {
		int fd = mkstemp(path);
		if (fd < 0)
			abort();
		close(fd);
		atexit(remove_file);
	}
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	int again = 0;
	if (cli_extra_exports(path, count_only, &again) != n || (n >= 0 && again != n))
		abort(); /* the path reads what the bytes say */
	return 0;
}
