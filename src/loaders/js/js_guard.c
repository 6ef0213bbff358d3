/*
 * js_guard.c — guarded memory: what host memory a JS bundle may touch.
 *
 * The bridge takes raw addresses (as the reference's does). In a guarded
 * bundle every bridge entry point that touches memory checks the whole
 * access against the regions the guest was given:
 *
 *   - during a call: the args block (read-only) and the out block, sized by
 *     the function's typed signature or its declared layout, and every
 *     block arenaAlloc handed out in the call; all end with the call;
 *   - always: the blocks the bundle allocated with bridge.alloc (or adopted
 *     as a peer's result) and has not freed, each with its size.
 *
 * A violation throws a RangeError naming the bundle, the entry point, the
 * address and the size, and taints the call: whatever the guest does with
 * the exception, the call returns PP_ERR_INVALID_POINTER with that message.
 *
 * Blocks are tracked in both modes, so that bridge.alloc counts against the
 * VM's memory limit everywhere; only a guarded bundle has them checked on
 * free and freed at unload (a compat bundle may hand its blocks to a
 * caller, as the reference allows). Everything here runs with the VM held.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "js_vm.h"

static const char *const kind_names[] = {
        [JS_REGION_ARGS] = "the call's args",
        [JS_REGION_OUT] = "the call's out",
        [JS_REGION_ARENA] = "a block from arenaAlloc",
        [JS_REGION_BLOCK] = "a block from alloc",
};

/* The index of the first block starting above addr, by binary search
 * (blocks are sorted by base and never overlap). */
static size_t blocks_above(const js_guard *g, uintptr_t addr)
{
	size_t lo = 0, hi = g->block_n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->blocks[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The block whose range holds addr, or NULL. */
static js_region *block_at(js_guard *g, uintptr_t addr)
{
	size_t lo = blocks_above(g, addr);
	if (lo == 0)
		return NULL;
	js_region *r = &g->blocks[lo - 1];
	return addr - r->base < r->len || (addr == r->base) ? r : NULL;
}

static bool grow(js_region **v, size_t n, size_t *cap)
{
	if (n < *cap)
		return true;
	size_t c = *cap ? *cap * 2 : 8;
	js_region *bigger = realloc(*v, c * sizeof *bigger);
	if (!bigger)
		return false;
	*v = bigger;
	*cap = c;
	return true;
}

/* Records msg as the call's violation (its first) and throws it. */
void pp_js_guard_refuse(js_vm *vm, const char *msg)
{
	vm->guard.violated = true; /* even if the message cannot be kept */
	if (!vm->guard.violation)
		vm->guard.violation = pp__strdup(msg);
	JS_ThrowRangeError(vm->ctx, "%s", msg);
}

static void violation(js_vm *vm, const char *entry, uintptr_t addr, size_t len, const char *why)
{
	char msg[320];
	snprintf(msg, sizeof msg,
	         "bundle '%s': bridge.%s at address 0x%" PRIxPTR " (%zu bytes): %s", vm->bundle,
	         entry, addr, len, why);
	pp_js_guard_refuse(vm, msg);
}

void pp_js_guard_bad_u32(js_vm *vm, const char *entry, const char *what, double d)
{
	char msg[240], shown[32];
	pp_js_describe_number(d, shown, sizeof shown);
	snprintf(msg, sizeof msg,
	         "bundle '%s': bridge.%s: %s must be an integer in 0 .. 4294967295, not %s",
	         vm->bundle, entry, what, shown);
	pp_js_guard_refuse(vm, msg);
}

bool pp_js_guard_access(js_vm *vm, const char *entry, uintptr_t addr, size_t len, bool write)
{
	js_guard *g = &vm->guard;
	if (!g->on || len == 0) /* nothing is touched */
		return true;
	const js_region *hit = NULL;
	for (size_t i = 0; i < g->call_n && !hit; i++)
		if (pp_js_region_holds(&g->call[i], addr, len))
			hit = &g->call[i];
	if (!hit) {
		const js_region *b = block_at(g, addr);
		if (b && pp_js_region_holds(b, addr, len))
			hit = b;
	}
	if (!hit) {
		violation(vm, entry, addr, len,
		          "outside the memory this bundle was given (its call's args and out, "
		          "arena blocks of the call, and its live alloc blocks)");
		return false;
	}
	if (write && !(hit->flags & JS_REGION_WRITABLE)) {
		char why[96];
		snprintf(why, sizeof why, "%s, which is read-only", kind_names[hit->kind]);
		violation(vm, entry, addr, len, why);
		return false;
	}
	return true;
}

bool pp_js_guard_violated(js_guard *g, char **message)
{
	bool violated = g->violated;
	if (violated && !g->violation)
		g->violation = pp__strdup("a bridge memory violation (its message did not fit in "
		                          "memory)");
	*message = g->violation;
	g->call_n = 0;
	g->violation = NULL;
	g->violated = false;
	return violated;
}

bool pp_js_guard_out_holds_blocks(js_vm *vm, const void *out, size_t len)
{
	js_guard *g = &vm->guard;
	if (!g->on || !g->block_n || !out)
		return false;
	for (size_t off = 0; off + sizeof(uintptr_t) <= len; off += sizeof(uintptr_t)) {
		uintptr_t word;
		memcpy(&word, (const uint8_t *)out + off, sizeof word);
		const js_region *b = word ? block_at(g, word) : NULL;
		if (b && b->base == word) {
			char msg[320];
			snprintf(msg, sizeof msg,
			         "bundle '%s': the call's out holds the address 0x%" PRIxPTR
			         " of a block from alloc (%zu bytes), which stays the bundle's; "
			         "bytes handed to the caller must come from arenaAlloc",
			         vm->bundle, word, b->len);
			pp_js_guard_refuse(vm, msg);
			return true;
		}
	}
	return false;
}

bool pp_js_guard_init(js_guard *g)
{
	return grow(&g->call, 0, &g->call_cap); /* args and out never need more */
}

bool pp_js_guard_arena_block(js_vm *vm, void *p, size_t len, bool host)
{
	js_guard *g = &vm->guard;
	if (!g->on || !p || !len)
		return true;
	if (!grow(&g->call, g->call_n, &g->call_cap))
		return !host; /* an arena's stays unreachable: an access is refused */
	uint8_t flags = JS_REGION_WRITABLE | (host ? JS_REGION_HOST : 0u);
	g->call[g->call_n++] = (js_region){(uintptr_t)p, len, JS_REGION_ARENA, flags};
	g->host_blocks = g->host_blocks || host;
	return true;
}

/* Whether the pointer-sized words of r hold the address a. */
static bool names(const js_region *r, uintptr_t a)
{
	for (size_t off = 0; off + sizeof a <= r->len; off += sizeof a) {
		uintptr_t word;
		memcpy(&word, (const uint8_t *)r->base + off, sizeof word);
		if (word == a)
			return true;
	}
	return false;
}

/* Without a call arena, arenaAlloc's bytes come from the host for the
 * caller to free, which it can only do if out names them: others would be
 * lost to both sides, so they go when the call ends. */
void pp_js_guard_release_host_blocks(js_vm *vm, bool succeeded)
{
	js_guard *g = &vm->guard;
	const js_region *out = NULL;
	for (size_t i = 0; i < g->call_n; i++)
		if (g->call[i].kind == JS_REGION_OUT)
			out = &g->call[i];
	for (size_t i = 0; i < g->call_n; i++) {
		const js_region *r = &g->call[i];
		if ((r->flags & JS_REGION_HOST) && !(succeeded && out && names(out, r->base)))
			vm->host->free(vm->host, (void *)r->base, r->len, 1);
	}
	g->host_blocks = false;
}

bool pp_js_guard_touches(js_vm *vm, const void *p, size_t len)
{
	js_guard *g = &vm->guard;
	uintptr_t a = (uintptr_t)p, last = a + (len ? len - 1 : 0);
	if (last < a)
		return true; /* wraps: nothing real */
	for (size_t i = 0; i < g->call_n; i++) {
		const js_region *r = &g->call[i];
		if (r->len && a <= r->base + (r->len - 1) && r->base <= last)
			return true;
	}
	/* the block holding a, or the first one starting after it */
	size_t above = blocks_above(g, a);
	return block_at(g, a) || (above < g->block_n && g->blocks[above].base <= last);
}

/* Drops the records of blocks overlapping [base, base + len). */
static void forget_blocks(js_guard *g, uintptr_t base, size_t len)
{
	size_t from = blocks_above(g, base), to = from;
	if (from > 0 && base - g->blocks[from - 1].base < g->blocks[from - 1].len)
		from--; /* the block holding base */
	while (to < g->block_n && g->blocks[to].base - base < len)
		to++;
	for (size_t i = from; i < to; i++)
		g->block_bytes -= g->blocks[i].len;
	memmove(&g->blocks[from], &g->blocks[to], (g->block_n - to) * sizeof *g->blocks);
	g->block_n -= to - from;
}

bool pp_js_guard_add_block(js_vm *vm, void *p, size_t len, bool fresh)
{
	js_guard *g = &vm->guard;
	if (!grow(&g->blocks, g->block_n, &g->block_cap))
		return false;
	uintptr_t base = (uintptr_t)p;
	if (base + len < base)
		return false;
	if (fresh) /* stale records: their blocks were freed elsewhere */
		forget_blocks(g, base, len);
	size_t at = g->block_n;
	while (at > 0 && g->blocks[at - 1].base > base)
		at--;
	/* blocks never overlap (block_at relies on it): an adopted view that
	 * would is refused */
	if ((at > 0 && g->blocks[at - 1].len > base - g->blocks[at - 1].base) ||
	    (at < g->block_n && g->blocks[at].base - base < len) || base + len < base)
		return false;
	memmove(&g->blocks[at + 1], &g->blocks[at], (g->block_n - at) * sizeof *g->blocks);
	g->blocks[at] = (js_region){base, len, JS_REGION_BLOCK, JS_REGION_WRITABLE};
	g->block_n++;
	g->block_bytes += len;
	return true;
}

int pp_js_guard_take_block(js_vm *vm, const char *entry, void *p, size_t len)
{
	js_guard *g = &vm->guard;
	uintptr_t base = (uintptr_t)p;
	js_region *b = block_at(g, base);
	if (b && b->base == base && (b->len == len || !g->on)) {
		g->block_bytes -= b->len;
		size_t at = (size_t)(b - g->blocks);
		memmove(b, b + 1, (g->block_n - at - 1) * sizeof *g->blocks);
		g->block_n--;
		return 1;
	}
	if (!g->on)
		return 0; /* compat: not ours, freed as the reference would */
	violation(vm, entry, base, len,
	          b && b->base == base ? "a live block of this bundle, but of another size"
	          : vm->pool && vm->pool->n > 1
	                  ? "not a live block this VM of the bundle's pool allocated (never "
	                    "allocated, freed already, not the start of a block, or another "
	                    "VM's: each VM frees its own)"
	                  : "not a live block this bundle allocated (never allocated, freed "
	                    "already, or not the start of a block)");
	return -1;
}

void pp_js_guard_free(js_vm *vm, bool blocks)
{
	js_guard *g = &vm->guard;
	const pp_host_api *h = vm->host;
	if (blocks)
		for (size_t i = 0; i < g->block_n; i++)
			h->free(h, (void *)g->blocks[i].base, g->blocks[i].len, 1);
	free(g->blocks);
	free(g->call);
	free(g->violation);
	memset(g, 0, sizeof *g);
}
