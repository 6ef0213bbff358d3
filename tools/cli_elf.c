/*
 * cli_elf.c — what a native bundle exports, for `polyplug check --strict`.
 *
 * A plugin built without -fvisibility=hidden exports every function it
 * defines; with the default (global) symbol lookup a host's or another
 * library's symbol of the same name can then stand in for the plugin's own.
 * This reads a shared library's dynamic symbol table (ELF64, the build
 * machine's byte order) and names what it exports besides polyplug's entry
 * points: from the section headers (SHT_DYNSYM), or, when they are missing
 * or name none, from PT_DYNAMIC as the dynamic linker finds it, since a
 * library loads without section headers. Every offset, size and count read
 * from the file is checked against it.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ppc/model.h"

static const char *const entry_points[] = {"polyplug_init", "polyplug_abi_version",
                                           "polyplug_shutdown", "_init", "_fini"};

static bool inside(size_t len, uint64_t off, uint64_t size)
{
	return off <= len && size <= len - off;
}

/* A dynamic symbol table and its strings, as offsets in the file. */
typedef struct symtab {
	uint64_t sym_off, count; /* count Elf64_Sym entries at sym_off */
	uint64_t str_off, str_size;
} symtab;

/* Whether t lies in the file: the symbols whole and aligned, the strings
 * whole and ending in '\0'. */
static bool table_ok(const char *file, size_t len, const symtab *t)
{
	return t->sym_off % _Alignof(Elf64_Sym) == 0 && t->count <= len / sizeof(Elf64_Sym) &&
	       inside(len, t->sym_off, t->count * sizeof(Elf64_Sym)) && t->str_size &&
	       inside(len, t->str_off, t->str_size) && file[t->str_off + t->str_size - 1] == '\0';
}

/* Reports what t exports besides the entry points; returns how many. */
static int scan(const char *file, const symtab *t, void (*found)(void *, const char *), void *ud)
{
	const Elf64_Sym *sym = (const void *)(file + t->sym_off);
	int count = 0;
	for (uint64_t k = 0; k < t->count; k++) {
		unsigned bind = ELF64_ST_BIND(sym[k].st_info), type = ELF64_ST_TYPE(sym[k].st_info);
		if (sym[k].st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK) ||
		    (type != STT_FUNC && type != STT_OBJECT) ||
		    ELF64_ST_VISIBILITY(sym[k].st_other) != STV_DEFAULT ||
		    sym[k].st_name >= t->str_size)
			continue;
		const char *name = file + t->str_off + sym[k].st_name;
		bool entry = false;
		for (size_t e = 0; e < sizeof entry_points / sizeof entry_points[0]; e++)
			entry |= strcmp(name, entry_points[e]) == 0;
		if (!entry) {
			found(ud, name);
			count++;
		}
	}
	return count;
}

/* The SHT_DYNSYM sections' tables, from the section headers; how many were
 * found (at most cap). */
static size_t from_sections(const char *file, size_t len, const Elf64_Ehdr *eh, symtab *out,
                            size_t cap)
{
	if (eh->e_shnum == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff % _Alignof(Elf64_Shdr) != 0 ||
	    !inside(len, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
		return 0;
	const Elf64_Shdr *sh = (const void *)(file + eh->e_shoff);
	size_t n = 0;
	for (unsigned i = 0; i < eh->e_shnum && n < cap; i++) {
		if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum ||
		    sh[i].sh_entsize != sizeof(Elf64_Sym))
			continue;
		const Elf64_Shdr *strs = &sh[sh[i].sh_link];
		symtab t = {sh[i].sh_offset, sh[i].sh_size / sizeof(Elf64_Sym), strs->sh_offset,
		            strs->sh_size};
		if (table_ok(file, len, &t))
			out[n++] = t;
	}
	return n;
}

/* The file offset of n bytes at virtual address addr, from the PT_LOAD
 * segments; false if no segment holds them all in the file. */
static bool file_offset(const char *file, size_t len, const Elf64_Ehdr *eh, uint64_t addr,
                        uint64_t n, uint64_t *off)
{
	const Elf64_Phdr *ph = (const void *)(file + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || addr < ph[i].p_vaddr ||
		    addr - ph[i].p_vaddr > ph[i].p_filesz ||
		    n > ph[i].p_filesz - (addr - ph[i].p_vaddr))
			continue;
		uint64_t at = ph[i].p_offset + (addr - ph[i].p_vaddr);
		if (at < ph[i].p_offset || !inside(len, at, n))
			continue;
		*off = at;
		return true;
	}
	return false;
}

/* A 32-bit word at addr, through the segments. */
static bool word_at(const char *file, size_t len, const Elf64_Ehdr *eh, uint64_t addr, uint32_t *w)
{
	uint64_t off;
	if (!file_offset(file, len, eh, addr, sizeof *w, &off))
		return false;
	memcpy(w, file + off, sizeof *w);
	return true;
}

/* How many symbols a DT_GNU_HASH table covers: past the last chain that the
 * highest bucket starts. Its head (counts, bloom words, buckets) must lie
 * whole in one segment, and the chain from the start of its last; each is
 * then read from the file directly, so the work is bounded by the file's
 * size, however the segments map it. */
static bool gnu_hash_count(const char *file, size_t len, const Elf64_Ehdr *eh, uint64_t at,
                           uint64_t *count)
{
	uint64_t off;
	uint32_t head[4]; /* nbuckets, symoffset, bloom_size, bloom_shift */
	if (!file_offset(file, len, eh, at, sizeof head, &off))
		return false;
	memcpy(head, file + off, sizeof head);
	uint32_t nbuckets = head[0], symoffset = head[1];
	uint64_t span = sizeof head + (uint64_t)head[2] * 8 + (uint64_t)nbuckets * 4;
	if (!file_offset(file, len, eh, at, span, &off))
		return false;
	const char *buckets = file + off + sizeof head + (uint64_t)head[2] * 8;
	uint32_t last = 0;
	for (uint32_t b = 0; b < nbuckets; b++) {
		uint32_t v;
		memcpy(&v, buckets + (size_t)b * 4, sizeof v);
		last = v > last ? v : last;
	}
	if (last < symoffset) { /* no bucket used: the table holds symoffset symbols */
		*count = symoffset;
		return true;
	}
	if (!file_offset(file, len, eh, at + span + (uint64_t)(last - symoffset) * 4, 4, &off))
		return false;
	for (uint64_t i = last; inside(len, off, 4); i++, off += 4) {
		uint32_t v;
		memcpy(&v, file + off, sizeof v);
		if (v & 1) {
			*count = i + 1;
			return true;
		}
	}
	return false;
}

/* The dynamic symbol table from PT_DYNAMIC (DT_SYMTAB, DT_STRTAB, DT_STRSZ,
 * the count from DT_HASH or DT_GNU_HASH): what the dynamic linker reads,
 * section headers or not. */
static bool from_dynamic(const char *file, size_t len, const Elf64_Ehdr *eh, symtab *t)
{
	/* (a library has a dozen program headers; each word read through them
	 * looks at all, and a hash table's words are up to the file's size) */
	if (eh->e_phnum == 0 || eh->e_phnum > 256 || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phoff % _Alignof(Elf64_Phdr) != 0 ||
	    !inside(len, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
		return false;
	/* The last PT_DYNAMIC, as glibc's and musl's loaders take it: one
	 * table read once, however many a file claims. */
	const Elf64_Phdr *ph = (const void *)(file + eh->e_phoff), *dyn = NULL;
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = &ph[i];
	if (!dyn || dyn->p_offset % _Alignof(Elf64_Dyn) ||
	    !inside(len, dyn->p_offset, dyn->p_filesz))
		return false;
	const Elf64_Dyn *d = (const void *)(file + dyn->p_offset);
	uint64_t symaddr = 0, strtab = 0, strsz = 0, hash = 0, gnu_hash = 0, syment = 0;
	bool has_sym = false, has_str = false;
	for (uint64_t k = 0; k < dyn->p_filesz / sizeof *d && d[k].d_tag != DT_NULL; k++) {
		uint64_t v = d[k].d_un.d_val;
		switch (d[k].d_tag) {
		case DT_SYMTAB:
			symaddr = v;
			has_sym = true;
			break;
		case DT_STRTAB:
			strtab = v;
			has_str = true;
			break;
		case DT_STRSZ:
			strsz = v;
			break;
		case DT_HASH:
			hash = v;
			break;
		case DT_GNU_HASH:
			gnu_hash = v;
			break;
		case DT_SYMENT:
			syment = v;
			break;
		default:
			break;
		}
	}
	uint64_t count = 0;
	uint32_t nchain;
	if (!has_sym || !has_str || (syment && syment != sizeof(Elf64_Sym)))
		return false;
	if (hash && word_at(file, len, eh, hash + 4, &nchain))
		count = nchain;
	else if (!gnu_hash || !gnu_hash_count(file, len, eh, gnu_hash, &count))
		return false;
	if (count > len / sizeof(Elf64_Sym) ||
	    !file_offset(file, len, eh, symaddr, count * sizeof(Elf64_Sym), &t->sym_off) ||
	    !file_offset(file, len, eh, strtab, strsz, &t->str_off))
		return false;
	t->count = count;
	t->str_size = strsz;
	return table_ok(file, len, t);
}

int cli_exports_in(const char *file, size_t len, void (*found)(void *ud, const char *symbol),
                   void *ud)
{
	const Elf64_Ehdr *eh = (const void *)file;
	if (len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64)
		return -1;
	symtab t[8];
	size_t n = from_sections(file, len, eh, t, sizeof t / sizeof t[0]);
	if (n == 0 && from_dynamic(file, len, eh, &t[0]))
		n = 1;
	if (n == 0)
		return eh->e_type == ET_DYN ? -2 : -1;
	int count = 0;
	for (size_t i = 0; i < n; i++)
		count += scan(file, &t[i], found, ud);
	return count;
}

/* Whether the file at path starts as an ELF64 file does (read without
 * blocking: the caller found it a regular file, or reading it said so). */
static bool starts_elf64(const char *path)
{
	unsigned char id[EI_CLASS + 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	bool elf = fd >= 0 && read(fd, id, sizeof id) == (ssize_t)sizeof id &&
	           memcmp(id, ELFMAG, SELFMAG) == 0 && id[EI_CLASS] == ELFCLASS64;
	if (fd >= 0)
		close(fd);
	return elf;
}

int cli_extra_exports(const char *path, void (*found)(void *ud, const char *symbol), void *ud)
{
	size_t len;
	char *file = ppc_read_file(path, CLI_MAX_FILE, &len);
	if (!file) /* a library too large to read is not checked, so not passed */
		return errno == ENOMEM && starts_elf64(path) ? -2 : -1;
	int count = cli_exports_in(file, len, found, ud);
	free(file);
	return count;
}
