/*
 * ptrset.h — a set of pointers that counts repeats: what the runtime keeps
 * to recognise a pointer a plugin hands back (an instance it made, an
 * interface the host table is given) in constant time, however many there
 * are. One thread changes a set at a time (its owner's lock); lookups may
 * run on any thread meanwhile, without a lock. See ptrset.c.
 */
#ifndef PP_PTRSET_H
#define PP_PTRSET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "retired.h"

typedef struct pp_ptrset_slot {
	_Atomic(const void *) key; /* NULL: never used since the table was built */
	_Atomic size_t count;      /* times added and not yet removed; 0: removed */
} pp_ptrset_slot;

typedef struct pp_ptrset_table {
	pp_retired retired; /* for the owner's retire hook */
	size_t cap;         /* a power of two */
	pp_ptrset_slot slots[];
} pp_ptrset_table;

typedef struct pp_ptrset {
	_Atomic(pp_ptrset_table *) table; /* NULL when empty */
	size_t live, dead;                /* slots whose count is above 0 / is 0 */
	/* Given each table the set stops using. NULL: freed at once, for a set
	 * whose lookups all hold the owner's lock. Otherwise the hook frees it
	 * once no lookup can still be in it (a grace period). */
	void (*retire)(void *ctx, pp_ptrset_table *t);
	void *ctx;
} pp_ptrset;

/* Adds p (not NULL) once more; false, and the set unchanged, if out of
 * memory. */
bool pp__ptrset_add(pp_ptrset *s, const void *p);
/* Removes p once; false if it is not in the set. */
bool pp__ptrset_remove(pp_ptrset *s, const void *p);
/* How many times p is in the set (0: not): below, inline for pp_call. */
static inline size_t pp__ptrset_count(const pp_ptrset *s, const void *p);
/* Empties the set and returns its table (NULL if it had none) for the
 * caller to read and free(): no lookup may be running. */
pp_ptrset_table *pp__ptrset_take(pp_ptrset *s);
/* Empties the set, freeing its table at once: no lookup may be running. */
void pp__ptrset_clear(pp_ptrset *s);

/* The slot holding p, or the empty slot where it would go. */
static inline pp_ptrset_slot *pp__ptrset_probe(pp_ptrset_table *t, const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * UINT64_C(0x9E3779B97F4A7C15);
	size_t mask = t->cap - 1;
	for (size_t i = (size_t)(h ^ (h >> 32)) & mask;; i = (i + 1) & mask) {
		const void *k = atomic_load_explicit(&t->slots[i].key, memory_order_acquire);
		if (!k || k == p)
			return &t->slots[i];
	}
}

/* Needs no lock: a lookup that races a change sees the set before or after
 * it. */
static inline size_t pp__ptrset_count(const pp_ptrset *s, const void *p)
{
	pp_ptrset_table *t = atomic_load_explicit(&s->table, memory_order_acquire);
	pp_ptrset_slot *at = t ? pp__ptrset_probe(t, p) : NULL;
	/* The key again: the slot the probe found empty may have been given
	 * another key since, whose count this is not. */
	if (!at || atomic_load_explicit(&at->key, memory_order_acquire) != p)
		return 0;
	return atomic_load_explicit(&at->count, memory_order_acquire);
}

#endif
