/*
 * toml.h — a small, strict TOML reader for manifests and contract files.
 *
 * Reads: key/value pairs with bare, quoted and dotted keys; [tables] and
 * [[arrays of tables]]; inline tables; arrays (over several lines, trailing
 * comma allowed); basic strings with escapes and literal strings; integers
 * (decimal with _ separators, 0x/0o/0b); booleans; comments. Anything else
 * TOML has (floats, dates, multi-line strings) and anything malformed is an
 * error "FILE:LINE:COL: what", never a guess. Keys and tables are never
 * defined twice.
 *
 * One extension: a decimal integer above INT64_MAX (up to UINT64_MAX) is
 * read as unsigned, because polyplug's generated manifests write 64-bit
 * bundle ids that way.
 */
#ifndef PP_TOML_H
#define PP_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum pp_toml_type {
	PP_TOML_STRING,
	PP_TOML_INTEGER,
	PP_TOML_BOOL,
	PP_TOML_ARRAY,
	PP_TOML_TABLE,
} pp_toml_type;

typedef struct pp_toml_value pp_toml_value;

struct pp_toml_value {
	pp_toml_type type;
	uint8_t how;   /* internal: how a table or array came to be */
	int line, col; /* where it was defined, 1-based */
	union {
		struct {
			char *ptr; /* NUL-terminated; may also hold NULs (len counts) */
			size_t len;
		} string;
		struct {
			int64_t value;
			bool is_unsigned; /* value holds a uint64_t above INT64_MAX */
		} integer;
		bool boolean;
		struct {
			pp_toml_value **items;
			size_t count, cap;
		} array;
		struct {
			char **keys;
			pp_toml_value **values;
			size_t count, cap;
		} table;
	} u;
};

/* Parses text (len bytes, need not be NUL-terminated). file names the source
 * in messages. Returns the root table, or NULL with the message in err.
 * Bounded for hostile input: values nest at most 64 deep, and a table has at
 * most 256 keys (a key is looked up among its table's others). */
pp_toml_value *pp_toml_parse(const char *text, size_t len, const char *file, char *err,
                             size_t errcap);

void pp_toml_free(pp_toml_value *v);

/* table[key], or NULL (also when table is not a table). */
const pp_toml_value *pp_toml_get(const pp_toml_value *table, const char *key);

const char *pp_toml_type_name(pp_toml_type t);

#endif
