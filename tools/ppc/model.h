/*
 * model.h — ppc's view of a contract file: contracts, functions, types,
 * enums and structs, with the C layout of every args struct and result.
 *
 * Layout rules (docs/contracts.md): a function's args are a C struct of its
 * params in declaration order with natural alignment; a function whose
 * result needs memory (StringView, Buffer) has one more, hidden, trailing
 * member `pp_call_arena *arena` that says where the result goes. The result
 * is written to `out`. Function ids are declaration order from 0.
 */
#ifndef PPC_MODEL_H
#define PPC_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* Limits: what the JS loader's typed signatures accept (src/loaders/js/
 * js_sig.h) and what the runtime accepts, plus name lengths that keep every
 * generated name whole. A contract file past one is refused with
 * FILE:LINE:COL and the limit. */
#define PPC_MAX_IDENT 63          /* bytes of a name: param, field, function, struct, enum */
#define PPC_MAX_CONTRACT_NAME 127 /* bytes of a contract name ("a.b.C") */
#define PPC_MAX_PARAMS 16         /* params of a function, its hidden arena included */
#define PPC_MAX_FIELDS 64         /* fields of a struct */
#define PPC_MAX_DEPTH 9           /* structs nested in structs, the outermost counted */
#define PPC_MAX_STRUCTS 32        /* struct values spelled out in one function's signature */
#define PPC_MAX_FUNCTIONS 65536   /* functions of a contract (PP_MAX_CONTRACT_FUNCTIONS) */
#define PPC_MAX_IMPLEMENT 64      /* contracts one bundle's --implement names */
#define PPC_MAX_CONTRACTS 4096    /* contracts of a file, guest and host together */

typedef enum ppc_kind {
	PPC_VOID,
	PPC_BOOL,
	PPC_I8,
	PPC_U8,
	PPC_I16,
	PPC_U16,
	PPC_I32,
	PPC_U32,
	PPC_I64,
	PPC_U64,
	PPC_F32,
	PPC_F64,
	PPC_STRING, /* StringView */
	PPC_BUFFER, /* Buffer */
	PPC_ENUM,
	PPC_STRUCT,
} ppc_kind;

typedef struct ppc_struct ppc_struct;
typedef struct ppc_enum ppc_enum;

/* Where a name was declared in the contract file: what a refusal found
 * only once the file is read whole (a name the generated code would make
 * twice) points at. */
typedef struct ppc_pos {
	int line, col;
} ppc_pos;

typedef struct ppc_type {
	ppc_kind kind;
	const ppc_enum *en;   /* PPC_ENUM */
	const ppc_struct *st; /* PPC_STRUCT */
} ppc_type;

typedef struct ppc_field {
	char *name;
	ppc_pos at;
	char *docs;
	ppc_type type;
	size_t offset;
} ppc_field;

struct ppc_struct {
	char *name;
	ppc_pos at;
	char *docs;
	ppc_field *fields;
	size_t field_count;
	size_t size, align;
	size_t depth;   /* 1 + the deepest struct among its fields */
	size_t structs; /* struct values a signature spells out for one of these */
};

typedef struct ppc_variant {
	char *name;
	ppc_pos at;
	char *docs;
	int64_t value; /* of a u64 enum: the bit pattern (ppc_value_text) */
} ppc_variant;

struct ppc_enum {
	char *name;
	ppc_pos at;
	char *docs;
	ppc_kind repr; /* an integer kind */
	ppc_variant *variants;
	size_t variant_count;
};

typedef struct ppc_function {
	char *name;
	ppc_pos at;
	char *docs;
	ppc_field *params; /* offsets within the args struct */
	size_t param_count;
	ppc_type result;
	char *result_docs;
	bool needs_arena;    /* result is StringView or Buffer */
	size_t arena_offset; /* of the hidden arena member */
	size_t args_size, args_align;
} ppc_function;

typedef struct ppc_contract {
	char *name; /* "pipeline.Decoder" */
	ppc_pos at;
	char *docs;
	bool host; /* [[host_contract]] */
	uint32_t major, minor, patch;
	uint64_t id;
	ppc_function *functions;
	size_t function_count;
	int line; /* where it was declared */
} ppc_contract;

typedef struct ppc_model {
	char *file;
	ppc_contract *contracts;
	size_t contract_count;
	ppc_enum *enums;
	size_t enum_count;
	ppc_struct *structs;
	size_t struct_count;
} ppc_model;

/* docs as a block comment opened by `open` (C's or JSDoc's opener), each
 * line indented: a closer or an opener inside is split by a space, so the
 * text can neither end the comment nor open one (which -Wcomment refuses). */
void ppc_comment(FILE *f, const char *indent, const char *open, const char *docs);

/* A path (given on the command line) as text inside a comment of any
 * generated file, C's, JS's `//` or TOML's `#`: a byte or character that
 * could end or open the comment or end its line (control characters,
 * U+2028, U+2029), or that is not UTF-8, is written as \xNN, and a
 * backslash as \\, so a file name can never become code. */
void ppc_comment_path(FILE *f, const char *path);

/* A whole file of at most max bytes, NUL-terminated (malloc'd), or NULL
 * with errno set (ENOMEM past max). What ppc and the polyplug tool read
 * their files with. */
char *ppc_read_file(const char *path, size_t max, size_t *len);

/* Reads a contract file. On failure returns NULL with "FILE:LINE:COL: key
 * 'k': what" in err. */
ppc_model *ppc_model_read(const char *text, size_t len, const char *file, char *err, size_t errcap);
void ppc_model_free(ppc_model *m);

/* Checks that newer keeps the layout of every contract older has under the
 * same name and major version (the same functions in the same order with
 * the same params and results; new functions only at the end). Returns
 * false with the first break in err, naming the contract, the function and
 * the version it needs. */
bool ppc_model_compatible(const ppc_model *older, const ppc_model *newer, char *err, size_t errcap);

/* The guest contracts named by `names`, a comma-separated list (what
 * `--implement` takes), in its order: at least one and at most
 * PPC_MAX_IMPLEMENT, none named twice. Returns how many it put in out, or 0
 * with the reason in err. */
size_t ppc_pick_guests(const ppc_model *m, const char *names, const ppc_contract **out, char *err,
                       size_t errcap);

size_t ppc_type_size(ppc_type t);
size_t ppc_type_align(ppc_type t);
/* The offsets of the StringView/Buffer values in a value of type t at base
 * (t itself, or a struct's members, nested ones too), appended to out[n..]
 * while cap allows. Returns n plus how many there are, past cap too. */
size_t ppc_views(ppc_type t, size_t base, size_t *out, size_t n, size_t cap);
/* The contract-file spelling of a type: "i32", "StringView", "Point". */
const char *ppc_type_name(ppc_type t);

/* "pipeline.Decoder" -> "pipeline_decoder" (lowercase, '.' -> '_') */
void ppc_c_ident(const char *name, char *out, size_t cap);
/* A variant's value of enum e in decimal, exactly (a u64's unsigned). */
void ppc_value_text(const ppc_enum *e, int64_t value, char *out, size_t cap);
/* "pipeline_decoder" -> "PIPELINE_DECODER" */
void ppc_c_upper(const char *s, char *out, size_t cap);

#endif
