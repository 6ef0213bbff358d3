/*
 * cli.h — what the `polyplug` tool's command files share (polyplug.c has
 * main and the small commands; cli_call.c has `call`).
 */
#ifndef PP_CLI_H
#define PP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Whether any argument asks for help (-h, --help). */
bool cli_wants_help(int argc, char **argv);
/* Prints a command's usage to stderr; returns 2, the usage exit status. */
int usage_error(const char *usage);
/* Writes a plugin's text to f with control characters (a terminal's escape
 * sequences: C0, DEL, C1) and bytes that are not UTF-8 shown as '?';
 * newlines and tabs stay. */
void cli_put_text(FILE *f, const uint8_t *p, size_t n);
/* A plugin's name, version or path as one line for a listing: control
 * characters (newlines too) and bytes that are not UTF-8 as '?', cut to cap
 * with "..." (never inside a character). */
const char *cli_one_line(char *buf, size_t cap, const char *s);
#define CLI_FIELD 256
/* The largest file the tool reads (with ppc_read_file, ppc/model.h). */
#define CLI_MAX_FILE ((size_t)64 << 20)

/* Calls found(ud, name) for each symbol the shared library at path exports
 * besides polyplug's entry points (read from SHT_DYNSYM, else from
 * PT_DYNAMIC); returns how many, -1 if path is not a readable ELF64 file,
 * -2 if it is an ELF64 shared object in which no dynamic symbol table could
 * be found, or an ELF64 file larger than CLI_MAX_FILE. (cli_elf.c) */
int cli_extra_exports(const char *path, void (*found)(void *ud, const char *symbol), void *ud);
/* The same for the len bytes of a file at file, aligned as malloc aligns
 * (the fuzz target's entry). */
int cli_exports_in(const char *file, size_t len, void (*found)(void *ud, const char *symbol),
                   void *ud);

/* polyplug call ... (cli_call.c) */
int cli_call(int argc, char **argv);

#endif
