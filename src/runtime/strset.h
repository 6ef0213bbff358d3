/*
 * strset.h — a set of strings, each with a number: what the watcher keeps
 * of a plugins directory (the names it holds, the paths waiting to load) to
 * look one up in constant time, however many there are. Not thread-safe:
 * one owner (the watcher's thread). See strset.c.
 */
#ifndef PP_STRSET_H
#define PP_STRSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pp_strset_slot {
	char *key; /* a copy the set owns; NULL: empty */
	size_t value;
} pp_strset_slot;

typedef struct pp_strset {
	pp_strset_slot *slots; /* NULL before the first put */
	size_t cap;            /* a power of two, or 0 */
	size_t count;
	uint64_t seed; /* drawn with the first table: where each name's chain starts */
} pp_strset;

/* Adds a copy of key with value, or sets the value of key already there;
 * false, and the set unchanged, if out of memory. */
bool pp__strset_put(pp_strset *s, const char *key, size_t value);
/* key's value, or NULL when it is not in the set. */
size_t *pp__strset_get(const pp_strset *s, const char *key);
/* Removes key; false if it is not in the set. */
bool pp__strset_remove(pp_strset *s, const char *key);
/* Empties the set and frees what it holds. */
void pp__strset_clear(pp_strset *s);

#endif
