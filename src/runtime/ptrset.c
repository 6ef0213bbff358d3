/*
 * ptrset.c — a set of pointers that counts repeats (ptrset.h).
 *
 * Open addressing with linear probing in a power-of-two table at most half
 * full, so a lookup touches a slot or two; removal shifts the run after the
 * removed slot back, so there are no tombstones and a set that grew for a
 * burst shrinks again as it empties. The hash is Fibonacci hashing of the
 * address: allocators hand out addresses that differ in a few middle bits,
 * and the multiply spreads those over the whole word.
 *
 * A set does no locking; its owner does. A pointer here is only a key: the
 * set never reads through it, so a plugin's pointer, however bad, is safe
 * to look up.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ptrset.h"

#define MIN_CAP 16u

static size_t home(const pp_ptrset *s, const void *p)
{
	uint64_t h = (uint64_t)(uintptr_t)p * UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(h ^ (h >> 32)) & (s->cap - 1);
}

/* The slot holding p, or the empty slot where it would go. */
static size_t probe(const pp_ptrset *s, const void *p)
{
	size_t i = home(s, p);
	while (s->slots[i].key && s->slots[i].key != p)
		i = (i + 1) & (s->cap - 1);
	return i;
}

/* Moves every key into a table of cap slots; false if out of memory (the
 * set is then unchanged). */
static bool resize(pp_ptrset *s, size_t cap)
{
	pp_ptrset_slot *slots = calloc(cap, sizeof *slots);
	if (!slots)
		return false;
	pp_ptrset old = *s;
	s->slots = slots;
	s->cap = cap;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key)
			s->slots[probe(s, old.slots[i].key)] = old.slots[i];
	free(old.slots);
	return true;
}

bool pp__ptrset_add(pp_ptrset *s, const void *p)
{
	if (s->slots) {
		pp_ptrset_slot *at = &s->slots[probe(s, p)];
		if (at->key) {
			at->count++; /* a count of SIZE_MAX adds would need as many calls */
			return true;
		}
	}
	if (!s->slots || (s->used + 1) * 2 > s->cap) {
		if (s->cap > SIZE_MAX / 2 / sizeof(pp_ptrset_slot))
			return false;
		if (!resize(s, s->cap ? s->cap * 2 : MIN_CAP))
			return false;
	}
	s->slots[probe(s, p)] = (pp_ptrset_slot){p, 1};
	s->used++;
	return true;
}

bool pp__ptrset_remove(pp_ptrset *s, const void *p)
{
	if (!s->slots)
		return false;
	size_t i = probe(s, p), mask = s->cap - 1;
	if (!s->slots[i].key)
		return false;
	if (--s->slots[i].count)
		return true;
	/* Shift back each key of the run after i that may live at i: one whose
	 * home is no nearer to its slot than i is. */
	for (size_t j = (i + 1) & mask; s->slots[j].key; j = (j + 1) & mask) {
		size_t k = home(s, s->slots[j].key);
		if (((j - k) & mask) >= ((j - i) & mask)) {
			s->slots[i] = s->slots[j];
			i = j;
		}
	}
	s->slots[i] = (pp_ptrset_slot){NULL, 0};
	s->used--;
	if (s->used == 0)
		pp__ptrset_clear(s);
	else if (s->cap > MIN_CAP && s->used * 8 < s->cap)
		(void)resize(s, s->cap / 2); /* out of memory: stays as large */
	return true;
}

size_t pp__ptrset_count(const pp_ptrset *s, const void *p)
{
	return s->slots ? s->slots[probe(s, p)].count : 0;
}

void pp__ptrset_clear(pp_ptrset *s)
{
	free(s->slots);
	*s = (pp_ptrset){NULL, 0, 0};
}
