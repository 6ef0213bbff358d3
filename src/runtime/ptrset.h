/*
 * ptrset.h — a set of pointers that counts repeats: what the runtime keeps
 * to recognise a pointer a plugin hands back (an instance it made, an
 * interface the host table is given) in constant time, however many there
 * are. See ptrset.c.
 */
#ifndef PP_PTRSET_H
#define PP_PTRSET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pp_ptrset_slot {
	const void *key; /* NULL: empty */
	size_t count;    /* times added and not yet removed */
} pp_ptrset_slot;

typedef struct pp_ptrset {
	pp_ptrset_slot *slots; /* cap slots, cap a power of two; NULL when empty */
	size_t cap, used;      /* used: distinct keys */
} pp_ptrset;

/* Adds p (not NULL) once more; false, and the set unchanged, if out of
 * memory. */
bool pp__ptrset_add(pp_ptrset *s, const void *p);
/* Removes p once; false if it is not in the set. */
bool pp__ptrset_remove(pp_ptrset *s, const void *p);
/* How many times p is in the set (0: not). */
size_t pp__ptrset_count(const pp_ptrset *s, const void *p);
/* Frees the table; the set is then empty. */
void pp__ptrset_clear(pp_ptrset *s);

#endif
