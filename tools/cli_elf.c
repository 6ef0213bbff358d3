/*
 * cli_elf.c — what a native bundle exports, for `polyplug check --strict`.
 *
 * A plugin built without -fvisibility=hidden exports every function it
 * defines; with the default (global) symbol lookup a host's or another
 * library's symbol of the same name can then stand in for the plugin's own.
 * This reads a shared library's dynamic symbol table (ELF64, the build
 * machine's byte order) and names what it exports besides polyplug's entry
 * points. Every offset and size read from the file is checked against it.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ppc/model.h"

static const char *const entry_points[] = {"polyplug_init", "polyplug_abi_version",
                                           "polyplug_shutdown", "_init", "_fini"};

static bool inside(size_t len, uint64_t off, uint64_t size)
{
	return off <= len && size <= len - off;
}

int cli_extra_exports(const char *path, void (*found)(void *ud, const char *symbol), void *ud)
{
	size_t len;
	char *file = ppc_read_file(path, CLI_MAX_FILE, &len);
	if (!file)
		return -1;
	int count = -1;
	const Elf64_Ehdr *eh = (const void *)file;
	if (len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff % _Alignof(Elf64_Shdr) != 0 ||
	    !inside(len, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
		goto done;
	const Elf64_Shdr *sh = (const void *)(file + eh->e_shoff);
	count = 0;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum ||
		    sh[i].sh_entsize != sizeof(Elf64_Sym) ||
		    sh[i].sh_offset % _Alignof(Elf64_Sym) ||
		    !inside(len, sh[i].sh_offset, sh[i].sh_size))
			continue;
		const Elf64_Shdr *strs = &sh[sh[i].sh_link];
		if (!inside(len, strs->sh_offset, strs->sh_size) || strs->sh_size == 0 ||
		    file[strs->sh_offset + strs->sh_size - 1] != '\0')
			continue;
		const Elf64_Sym *sym = (const void *)(file + sh[i].sh_offset);
		size_t n = sh[i].sh_size / sizeof *sym;
		for (size_t k = 0; k < n; k++) {
			unsigned bind = ELF64_ST_BIND(sym[k].st_info),
			         type = ELF64_ST_TYPE(sym[k].st_info);
			if (sym[k].st_shndx == SHN_UNDEF ||
			    (bind != STB_GLOBAL && bind != STB_WEAK) ||
			    (type != STT_FUNC && type != STT_OBJECT) ||
			    ELF64_ST_VISIBILITY(sym[k].st_other) != STV_DEFAULT ||
			    sym[k].st_name >= strs->sh_size)
				continue;
			const char *name = file + strs->sh_offset + sym[k].st_name;
			bool entry = false;
			for (size_t e = 0; e < sizeof entry_points / sizeof entry_points[0]; e++)
				entry |= strcmp(name, entry_points[e]) == 0;
			if (!entry) {
				found(ud, name);
				count++;
			}
		}
	}
done:
	free(file);
	return count;
}
