/*
 * ptrset.c — a set of pointers that counts repeats (ptrset.h).
 *
 * Open addressing with linear probing in a power-of-two table. Lookups take
 * no lock, so a table is never rearranged under them: a key stays in the
 * slot it was stored in, and removing it only drops its count to 0 (the
 * slot answers 0 until the key is added again). When keys fill half the
 * table, counting removed ones, or live ones fall below an eighth of it,
 * the set builds a new table of the live keys alone, with room for four
 * times as many, publishes it and hands the old one to the owner's retire
 * hook: a lookup still probing the old table finds what it held when it was
 * replaced. A table at most half full always has an empty slot, so every
 * probe ends.
 *
 * Ordering: a new key's count is stored before the key itself (release),
 * so a lookup that sees the key sees its count; a table is filled before
 * it is published (release). The hash is Fibonacci hashing of the address:
 * allocators hand out addresses that differ in a few middle bits, and the
 * multiply spreads those over the whole word.
 *
 * A pointer here is only a key: the set never reads through it, so a
 * plugin's pointer, however bad, is safe to look up.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ptrset.h"

#define MIN_CAP 16u

#define probe pp__ptrset_probe

static void publish(pp_ptrset *s, pp_ptrset_table *t)
{
	pp_ptrset_table *old = atomic_load_explicit(&s->table, memory_order_relaxed);
	atomic_store_explicit(&s->table, t, memory_order_release);
	if (old && s->retire)
		s->retire(s->ctx, old);
	else
		free(old);
}

/* Replaces the table by one of the live keys alone, with room for four
 * times as many as there will be after one more add; false if out of
 * memory (the set is then unchanged). */
static bool rebuild(pp_ptrset *s)
{
	size_t cap = MIN_CAP;
	while (cap / 4 < s->live + 1) {
		if (cap > SIZE_MAX / 4 / sizeof(pp_ptrset_slot))
			return false;
		cap *= 2;
	}
	pp_ptrset_table *t = calloc(1, sizeof *t + cap * sizeof(pp_ptrset_slot));
	if (!t)
		return false;
	t->cap = cap;
	pp_ptrset_table *old = atomic_load_explicit(&s->table, memory_order_relaxed);
	for (size_t i = 0; old && i < old->cap; i++) {
		size_t n = atomic_load_explicit(&old->slots[i].count, memory_order_relaxed);
		if (!n)
			continue;
		const void *k = atomic_load_explicit(&old->slots[i].key, memory_order_relaxed);
		pp_ptrset_slot *to = probe(t, k);
		atomic_store_explicit(&to->count, n, memory_order_relaxed);
		atomic_store_explicit(&to->key, k, memory_order_relaxed);
	}
	s->dead = 0;
	publish(s, t);
	return true;
}

bool pp__ptrset_add(pp_ptrset *s, const void *p)
{
	pp_ptrset_table *t = atomic_load_explicit(&s->table, memory_order_relaxed);
	pp_ptrset_slot *at = t ? probe(t, p) : NULL;
	if (at && atomic_load_explicit(&at->key, memory_order_relaxed)) {
		size_t n = atomic_load_explicit(&at->count, memory_order_relaxed);
		if (n == 0) { /* removed before: live again, in the same slot */
			s->live++;
			s->dead--;
		}
		/* a count of SIZE_MAX adds would need as many calls */
		atomic_store_explicit(&at->count, n + 1, memory_order_release);
		return true;
	}
	if (!t || (s->live + s->dead + 1) * 2 > t->cap) {
		if (!rebuild(s))
			return false;
		at = probe(atomic_load_explicit(&s->table, memory_order_relaxed), p);
	}
	atomic_store_explicit(&at->count, 1, memory_order_relaxed);
	atomic_store_explicit(&at->key, p, memory_order_release);
	s->live++;
	return true;
}

bool pp__ptrset_remove(pp_ptrset *s, const void *p)
{
	pp_ptrset_table *t = atomic_load_explicit(&s->table, memory_order_relaxed);
	pp_ptrset_slot *at = t ? probe(t, p) : NULL;
	size_t n = at ? atomic_load_explicit(&at->count, memory_order_relaxed) : 0;
	if (!n)
		return false;
	atomic_store_explicit(&at->count, n - 1, memory_order_release);
	if (n > 1)
		return true;
	s->live--;
	s->dead++;
	if (s->live == 0) {
		s->dead = 0;
		publish(s, NULL);
	} else if (t->cap > MIN_CAP && s->live * 8 < t->cap) {
		(void)rebuild(s); /* out of memory: stays as large */
	}
	return true;
}

pp_ptrset_table *pp__ptrset_take(pp_ptrset *s)
{
	pp_ptrset_table *t = atomic_load_explicit(&s->table, memory_order_relaxed);
	atomic_store_explicit(&s->table, NULL, memory_order_relaxed);
	s->live = s->dead = 0;
	return t;
}

void pp__ptrset_clear(pp_ptrset *s)
{
	free(pp__ptrset_take(s));
}
