/*
 * test_js_pool.c — VM pools: a JS bundle with `concurrency = N` runs N calls
 * at once, keeps each instance on the VM that made it, loads and reloads its
 * VMs as one unit, and refuses VMs that register differently.
 *
 * Concurrency is shown, not timed: the bundle's function waits inside a host
 * contract until `want` callers are inside at once (a rendezvous). Two
 * callers meet only if two VMs serve them; with one VM the first one gives
 * up after its wait and only then lets the second in.
 */
#include <time.h>

#include "js_helpers.h"
#include "runtime/internal.h" /* the look hook */

/* ---- Host contracts the bundles call --------------------------------------- */

typedef struct meeting {
	pthread_mutex_t lock;
	pthread_cond_t arrived_cv;
	int arrived, want;
	int ticket;  /* test.Ticket's counter */
	int wait_ms; /* how long a caller waits for the others */
} meeting;

static meeting the_meeting = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 2, 0, 400};

/* test.Meet fn 0: writes 1 to out once `want` callers are inside at once, 0
 * if they were not within wait_ms. */
static void meet(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)args;
	(void)err;
	meeting *m = &the_meeting;
	pthread_mutex_lock(&m->lock);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += m->wait_ms / 1000;
	until.tv_nsec += (long)(m->wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	m->arrived++;
	pthread_cond_broadcast(&m->arrived_cv);
	while (m->arrived < m->want)
		if (pthread_cond_timedwait(&m->arrived_cv, &m->lock, &until) != 0)
			break;
	int32_t met = m->arrived >= m->want;
	pthread_mutex_unlock(&m->lock);
	memcpy(out, &met, sizeof met);
}

/* test.Ticket fn 0: writes 1, 2, 3, ... to out. */
static void ticket(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)args;
	(void)err;
	pthread_mutex_lock(&the_meeting.lock);
	int32_t t = ++the_meeting.ticket;
	pthread_mutex_unlock(&the_meeting.lock);
	memcpy(out, &t, sizeof t);
}

/* test.Gate fn 0: args is a gate's number (0 to 7); marks that gate's
 * caller inside and holds it until the test opens the gate (at most 60 s),
 * then writes 1 to out. */
typedef struct gates {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int inside[8], open[8];
} gates;

static gates the_gates = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, {0}};

static void gate_hold(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)err;
	int32_t g = 0;
	memcpy(&g, args, sizeof g);
	g = g >= 0 && g < 8 ? g : 0;
	gates *t = &the_gates;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	pthread_mutex_lock(&t->lock);
	t->inside[g] = 1;
	while (!t->open[g])
		if (pthread_cond_timedwait(&t->cv, &t->lock, &until) != 0)
			break;
	pthread_mutex_unlock(&t->lock);
	int32_t one = 1;
	memcpy(out, &one, sizeof one);
}

static int gate_inside(int g)
{
	pthread_mutex_lock(&the_gates.lock);
	int in = the_gates.inside[g];
	pthread_mutex_unlock(&the_gates.lock);
	return in;
}

static void gate_open(int g)
{
	pthread_mutex_lock(&the_gates.lock);
	the_gates.open[g] = 1;
	pthread_cond_broadcast(&the_gates.cv);
	pthread_mutex_unlock(&the_gates.lock);
}

/* Every gate closed, nobody inside. */
static void gates_reset(void)
{
	pthread_mutex_lock(&the_gates.lock);
	memset(the_gates.inside, 0, sizeof the_gates.inside);
	memset(the_gates.open, 0, sizeof the_gates.open);
	pthread_mutex_unlock(&the_gates.lock);
}

static void meeting_reset(int want, int wait_ms)
{
	pthread_mutex_lock(&the_meeting.lock);
	the_meeting.arrived = 0;
	the_meeting.want = want;
	the_meeting.wait_ms = wait_ms;
	the_meeting.ticket = 0;
	pthread_mutex_unlock(&the_meeting.lock);
}

/* test.Rewrite fn 0: rewrites the file rewrite_path names to rewrite_text. */
static char rewrite_path[128];
static const char *rewrite_text;

static void rewrite(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)args;
	(void)out;
	(void)err;
	FILE *f = fopen(rewrite_path, "w");
	if (f) {
		fputs(rewrite_text, f);
		fclose(f);
	}
}

static pp_runtime *rt_with_host_contracts(uint32_t concurrency)
{
	pp_runtime_config cfg = quiet_config();
	cfg.js.concurrency = concurrency;
	pp_runtime *rt = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &rt), PP_OK);
	static const void *const meet_fns[] = {(const void *)meet};
	static const void *const ticket_fns[] = {(const void *)ticket};
	static const void *const gate_fns[] = {(const void *)gate_hold};
	/* the runtime keeps the interfaces' addresses */
	static pp_host_contract_interface m = {
	        .size = sizeof m,
	        .contract_id = 0, /* set below: not a constant expression */
	        .contract_version = {1, 0, 0},
	        .dispatch_type = PP_DISPATCH_NATIVE,
	        .create_instance = no_instance,
	        .destroy_instance = drop_instance,
	        .dispatch.native = {1, meet_fns},
	};
	m.contract_id = pp_host_contract_id("test.Meet", 1);
	static pp_host_contract_interface t;
	t = m;
	t.contract_id = pp_host_contract_id("test.Ticket", 1);
	t.dispatch.native.functions = ticket_fns;
	static pp_host_contract_interface g;
	g = m;
	g.contract_id = pp_host_contract_id("test.Gate", 1);
	g.dispatch.native.functions = gate_fns;
	static const void *const rewrite_fns[] = {(const void *)rewrite};
	static pp_host_contract_interface r;
	r = m;
	r.contract_id = pp_host_contract_id("test.Rewrite", 1);
	r.dispatch.native.functions = rewrite_fns;
	assert_int_equal(pp_host_contract_register(rt, &m), PP_OK);
	assert_int_equal(pp_host_contract_register(rt, &t), PP_OK);
	assert_int_equal(pp_host_contract_register(rt, &g), PP_OK);
	assert_int_equal(pp_host_contract_register(rt, &r), PP_OK);
	return rt;
}

/* ---- The bundle ------------------------------------------------------------ */

/* Each VM takes a ticket in its init (vm = 1, 2, ...). Function 0 meets and
 * writes [met, VERSION]; 1 writes this VM's ticket; 2 counts calls on its
 * implementation; 3 holds at the test.Gate its args name; with EXTRA, VMs
 * after the first register one more function than the first. */
#define POOL_BUNDLE(VERSION, EXTRA)                                                      \
	JS_PRELUDE                                                                       \
	"function hid(s) { return cid('host_contract:' + s + '@1'); }\n"                 \
	"var vm = 0;\n"                                                                  \
	"function polyplug_init(hl, hh, cl, ch, b) {\n"                                  \
	"  var p = b.alloc(4), at = p[1] * 4294967296 + p[0], t = hid('test.Ticket');\n" \
	"  b.callHostContract(t[0], t[1], 0x10000, 0, 0, at); vm = b.readI32(at);\n"     \
	"  b.free(p[0], p[1], 4, 1);\n"                                                  \
	"  var fns = [\n"                                                                \
	"    function (i, a, o, ar, b) { var m = hid('test.Meet');"                      \
	" var rc = b.callHostContract(m[0], m[1], 0x10000, 0, 0, o);"                    \
	" b.writeI32(o + 4, " VERSION "); return rc; },\n"                               \
	"    function (i, a, o, ar, b) { b.writeI32(o, vm); return 0; },\n"              \
	"    function (i, a, o, ar, b) { i.n++; b.writeI32(o, i.n); return 0; },\n"      \
	"    function (i, a, o, ar, b) { var g = hid('test.Gate');"                      \
	" return b.callHostContract(g[0], g[1], 0x10000, 0, a, o); }];\n"                \
	"  if (" EXTRA " && vm > 1) fns.push(function () { return 0; });\n"              \
	"  return ok([reg('js.pool', fns)]);\n"                                          \
	"}\n"

static const char *pool_dir(char *buf, size_t cap, const char *manifest_extra, const char *src)
{
	temp_dir(buf, cap);
	write_text(buf, "bundle.js", src);
	char manifest[512];
	snprintf(manifest, sizeof manifest,
	         "name = \"pool\"\nloader = \"js-quickjs\"\nprovides = [\"js.pool@1\"]\n%s",
	         manifest_extra);
	write_text(buf, "manifest.toml", manifest);
	return buf;
}

/* Loads src as bundle name with a pool of vms VMs. */
static void load_pool(pp_runtime *rt, const char *name, uint32_t vms, const char *src)
{
	pp_load_options o = {.size = sizeof o, .name = name, .js.concurrency = vms};
	if (pp_bundle_load_source(rt, src, strlen(src), &o, NULL) != PP_OK)
		fail_msg("loading %s with %u VMs: %s", name, vms, pp_last_error(rt));
}

static pp_guest_contract_handle pool_handle(pp_runtime *rt)
{
	return pp_find(rt, pp_guest_contract_id("js.pool", 1), 0);
}

/* Two threads call function 0 at once. */
typedef struct meet_call {
	pp_runtime *rt;
	int32_t out[2];
	uint32_t code;
} meet_call;

static void *call_meet(void *p)
{
	meet_call *c = p;
	pp_guest_contract_instance none = {NULL, 0};
	c->code = pp_call(c->rt, pool_handle(c->rt), none, 0, NULL, c->out, NULL);
	return NULL;
}

/* How many of two simultaneous callers met the other; each answer's
 * version goes to versions[]. Where they should meet, a caller waits as
 * long as a loaded machine may take to start the other thread (the wait
 * ends when it arrives); where they cannot (one VM), 400 ms. */
static int two_callers_meet(pp_runtime *rt, int32_t versions[2], bool can_meet)
{
	meeting_reset(2, can_meet ? 30000 : 400);
	meet_call calls[2] = {{rt, {0, 0}, 0}, {rt, {0, 0}, 0}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, call_meet, &calls[i]), 0);
	int met = 0;
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		if (calls[i].code != PP_OK)
			fail_msg("call %d: %u %s", i, calls[i].code, pp_last_error(rt));
		met += calls[i].out[0];
		if (versions)
			versions[i] = calls[i].out[1];
	}
	return met;
}

/* ---- Tests ----------------------------------------------------------------- */

static void a_pool_runs_calls_from_two_threads_at_once(void **state)
{
	(void)state;
	pp_runtime *rt = rt_with_host_contracts(0);
	static const char src[] = POOL_BUNDLE("1", "false");
	load_pool(rt, "two", 2, src);
	assert_int_equal(two_callers_meet(rt, NULL, true), 2);
	pp_runtime_free(rt);

	/* one VM (the default): the second caller waits for the first */
	rt = rt_with_host_contracts(0);
	js_load_ok(rt, "one", src);
	assert_int_equal(two_callers_meet(rt, NULL, false), 1);
	pp_runtime_free(rt);

	/* the runtime's default applies to every JS bundle */
	rt = rt_with_host_contracts(2);
	js_load_ok(rt, "default_two", src);
	assert_int_equal(two_callers_meet(rt, NULL, true), 2);
	pp_runtime_free(rt);
}

/* Calls on an instance, from several threads, while others use the default
 * implementation: every one reaches the instance's own VM (another VM would
 * not know it), in order. */
typedef struct counting {
	pp_runtime *rt;
	pp_guest_contract_instance inst;
	int32_t seen[50];
	uint32_t bad;
} counting;

static void *count_on_instance(void *p)
{
	counting *c = p;
	for (int i = 0; i < 50; i++) {
		uint32_t code =
		        pp_call(c->rt, pool_handle(c->rt), c->inst, 2, NULL, &c->seen[i], NULL);
		if (code != PP_OK)
			c->bad = code;
	}
	return NULL;
}

static void instances_stay_on_the_vm_that_made_them(void **state)
{
	(void)state;
	pp_runtime *rt = rt_with_host_contracts(0);
	meeting_reset(2, 400);
	char dir[64];
	pool_dir(dir, sizeof dir, "concurrency = 3\n", POOL_BUNDLE("1", "false"));
	load_ok(rt, dir);
	pp_guest_contract_handle h = pool_handle(rt);
	pp_guest_contract_instance x, none = {NULL, 0};
	assert_int_equal(pp_instance_create(rt, h, NULL, &x), PP_OK);
	int32_t vm_of_x = 0, vm = 0;
	assert_int_equal(pp_call(rt, h, x, 1, NULL, &vm_of_x, NULL), PP_OK);
	assert_in_range(vm_of_x, 1, 3); /* one ticket per VM's init */

	counting c[3];
	pthread_t th[3];
	for (int i = 0; i < 3; i++) {
		c[i] = (counting){.rt = rt, .inst = i < 2 ? x : none};
		assert_int_equal(pthread_create(&th[i], NULL, count_on_instance, &c[i]), 0);
	}
	bool seen[101] = {false};
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(c[i].bad, PP_OK);
		for (int k = 0; i < 2 && k < 50; k++) {
			assert_in_range(c[i].seen[k], 1, 100);
			assert_false(seen[c[i].seen[k]]); /* one counter, each value once */
			seen[c[i].seen[k]] = true;
		}
	}
	assert_int_equal(pp_call(rt, h, x, 1, NULL, &vm, NULL), PP_OK);
	assert_int_equal(vm, vm_of_x);
	assert_int_equal(pp_instance_destroy(rt, h, x), PP_OK);
	assert_int_equal(pp_call(rt, h, x, 2, NULL, &vm, NULL), PP_ERR_STALE_INSTANCE);
	pp_runtime_free(rt);
	remove_tree(dir);
}

/* Instances one thread makes go to the VMs in turn: they all went to the
 * VM that thread had last, so calls on them from many threads took turns
 * while the other VMs stood idle. */
static void instances_made_on_one_thread_spread_over_the_pool(void **state)
{
	(void)state;
	pp_runtime *rt = rt_with_host_contracts(0);
	meeting_reset(2, 400);
	static const char src[] = POOL_BUNDLE("1", "false");
	load_pool(rt, "four", 4, src);
	pp_guest_contract_handle h = pool_handle(rt);
	bool vm_seen[5] = {false};
	pp_guest_contract_instance made[4];
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pp_instance_create(rt, h, NULL, &made[i]), PP_OK);
		int32_t vm = 0;
		assert_int_equal(pp_call(rt, h, made[i], 1, NULL, &vm, NULL), PP_OK);
		assert_in_range(vm, 1, 4);
		if (vm_seen[vm])
			fail_msg("instance %d is on VM %d, as an earlier one", i, vm);
		vm_seen[vm] = true;
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pp_instance_destroy(rt, h, made[i]), PP_OK);
	pp_runtime_free(rt);
}

/* Counts the records a factory logs ("factory N": N the arguments it got);
 * any other count of arguments counts as -1000. */
static void count_factory_runs(void *ud, uint32_t level, pp_string_view scope, pp_string_view msg)
{
	(void)level;
	(void)scope;
	if (msg.len >= 8 && memcmp(msg.ptr, "factory ", 8) == 0)
		atomic_fetch_add((atomic_int *)ud, msg.len == 9 && msg.ptr[8] == '3' ? 1 : -1000);
}

/* A factory runs once per VM at load, for the default impl, and once per
 * pp_instance_create, with (bridge, hostLo, hostHi) only: the create's args
 * never reach it (js.md, Loading). */
static void the_factory_runs_once_per_vm_at_load_and_once_per_create(void **state)
{
	(void)state;
	static const char src[] =
	        JS_PRELUDE "function polyplug_init() {\n"
	                   "  return ok([reg('js.made', [function () { return 0; }],\n"
	                   "    function () { console.log('factory ' + arguments.length);\n"
	                   "      return {}; })]);\n}\n";
	for (uint32_t vms = 1; vms <= 3; vms += 2) {
		atomic_int made = 0;
		pp_runtime *rt = rt_logging_to(count_factory_runs, &made, PP_LOG_TRACE);
		load_pool(rt, "made", vms, src);
		assert_int_equal(atomic_load(&made), vms);
		pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("js.made", 1), 0);
		pp_guest_contract_instance x, y, none = {NULL, 0};
		int32_t args[4] = {1, 2, 3, 4};
		assert_int_equal(pp_instance_create(rt, h, args, &x), PP_OK);
		assert_int_equal(pp_instance_create(rt, h, args, &y), PP_OK);
		assert_int_equal(atomic_load(&made), vms + 2);
		/* calls make none */
		assert_int_equal(pp_call(rt, h, none, 0, NULL, NULL, NULL), PP_OK);
		assert_int_equal(pp_call(rt, h, x, 0, NULL, NULL, NULL), PP_OK);
		assert_int_equal(atomic_load(&made), vms + 2);
		assert_int_equal(pp_instance_destroy(rt, h, x), PP_OK);
		assert_int_equal(pp_instance_destroy(rt, h, y), PP_OK);
		pp_runtime_free(rt);
	}
}

/* A compat bundle (the reference's raw protocol) allocates a block with
 * bridge.alloc and hands it out; the host frees it, or another VM of the
 * pool does. Its record stayed on the VM that made it: the allocator gave
 * the address out again, the record overlapped it, and every later alloc
 * failed (and the dead bytes counted against the VM's limit). */
#define BLOCK_BUNDLE                                                                    \
	JS_PRELUDE "function polyplug_init(hl, hh, cl, ch, b) {\n"                      \
	           "  return ok([reg('js.blocks', [\n"                                  \
	           "    function (i, a, o, ar, b) { var q = b.alloc(48);\n"             \
	           "      b.writeU32(o, q[0]); b.writeU32(o + 4, q[1]); return 0; },\n" \
	           "    function (i, a, o, ar, b) {\n"                                  \
	           "      b.free(b.readU32(a), b.readU32(a + 4), 48, 1); return 0; }])]);\n}\n"

static void a_block_freed_outside_the_vm_that_made_it_leaves_alloc_working(void **state)
{
	(void)state;
	static const char src[] = BLOCK_BUNDLE;
	for (uint32_t vms = 1; vms <= 2; vms++) {
		pp_runtime *rt = rt_new();
		load_pool(rt, "blocks", vms, src);
		pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("js.blocks", 1), 0);
		pp_guest_contract_instance x, y; /* with 2 VMs, one on each */
		assert_int_equal(pp_instance_create(rt, h, NULL, &x), PP_OK);
		assert_int_equal(pp_instance_create(rt, h, NULL, &y), PP_OK);
		for (int i = 0; i < 200; i++) {
			uint32_t at[2] = {0, 0};
			if (pp_call(rt, h, x, 0, NULL, at, NULL) != PP_OK)
				fail_msg("%u VMs, alloc %d: %s", vms, i, pp_last_error(rt));
			void *p = (void *)(uintptr_t)((uint64_t)at[1] << 32 | at[0]);
			assert_non_null(p);
			if (vms == 1) /* the caller frees what it was handed */
				pp_runtime_host_api(rt)->free(pp_runtime_host_api(rt), p, 48, 1);
			else /* the other VM frees it */
				assert_int_equal(pp_call(rt, h, y, 1, at, NULL, NULL), PP_OK);
		}
		assert_int_equal(pp_instance_destroy(rt, h, x), PP_OK);
		assert_int_equal(pp_instance_destroy(rt, h, y), PP_OK);
		pp_runtime_free(rt);
	}
}

static void a_reload_replaces_every_vm_of_the_pool(void **state)
{
	(void)state;
	pp_runtime *rt = rt_with_host_contracts(0);
	char dir[64];
	pool_dir(dir, sizeof dir, "concurrency = 2\n", POOL_BUNDLE("1", "false"));
	uint64_t id = load_ok(rt, dir);
	int32_t versions[2];
	assert_int_equal(two_callers_meet(rt, versions, true), 2);
	assert_true(versions[0] == 1 && versions[1] == 1);
	write_text(dir, "bundle.js", POOL_BUNDLE("2", "false"));
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	/* two callers inside at once are on two VMs: both are new */
	assert_int_equal(two_callers_meet(rt, versions, true), 2);
	assert_true(versions[0] == 2 && versions[1] == 2);
	pp_runtime_free(rt);

	/* the host's option wins over the manifest */
	rt = rt_with_host_contracts(0);
	pp_load_options one = {.size = sizeof one, .js.concurrency = 1};
	assert_int_equal(pp_bundle_load(rt, dir, &one, NULL), PP_OK);
	assert_int_equal(two_callers_meet(rt, NULL, false), 1);
	pp_runtime_free(rt);
	remove_tree(dir);
}

static void every_vm_of_a_pool_must_register_the_same_contracts(void **state)
{
	(void)state;
	pp_runtime *rt = rt_with_host_contracts(0);
	meeting_reset(2, 400);
	pp_load_options three = {.size = sizeof three, .name = "uneven", .js.concurrency = 3};
	static const char src[] = POOL_BUNDLE("1", "true");
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &three, NULL),
	                 PP_ERR_LOAD_FAILED);
	assert_contains(pp_last_error(rt), "bundle 'uneven'");
	assert_contains(pp_last_error(rt), "concurrency = 3, VM 1 registered a different");
	assert_true(pp_handle_is_null(pool_handle(rt)));
	/* nothing of it stayed: the same bundle with one VM loads */
	js_load_ok(rt, "uneven", src);
	/* an init that fails on a later VM only: the message says which */
	static const char later[] =
	        JS_PRELUDE "function polyplug_init(hl, hh, cl, ch, b) {\n"
	                   "  var p = b.alloc(4), at = p[1] * 4294967296 + p[0];\n"
	                   "  var t = cid('host_contract:test.Ticket@1');\n"
	                   "  b.callHostContract(t[0], t[1], 0x10000, 0, 0, at);\n"
	                   "  var vm = b.readI32(at); b.free(p[0], p[1], 4, 1);\n"
	                   "  if (vm > 1) throw new Error('not on this VM');\n"
	                   "  return ok([reg('js.later', [function () { return 0; }])]);\n}\n";
	meeting_reset(2, 400);
	three.name = "later";
	assert_int_not_equal(pp_bundle_load_source(rt, later, strlen(later), &three, NULL), PP_OK);
	assert_contains(pp_last_error(rt), "not on this VM");
	assert_contains(pp_last_error(rt), "(VM 1 of the pool of 3; those before it loaded)");
	pp_runtime_free(rt);
}

/* Loads the pool of two in dir, whose first VM's init rewrites dir/file to
 * text, and checks that its fn 0 answers `expect` on both VMs. */
static void both_vms_answer(const char *dir, const char *file, const char *text, int32_t expect)
{
	pp_runtime *rt = rt_with_host_contracts(0);
	snprintf(rewrite_path, sizeof rewrite_path, "%s/%s", dir, file);
	rewrite_text = text;
	load_ok(rt, dir);
	pp_guest_contract_handle h = pool_handle(rt);
	pp_guest_contract_instance on[2]; /* one on each VM: creates take them in turn */
	for (int i = 0; i < 2; i++)
		assert_int_equal(pp_instance_create(rt, h, NULL, &on[i]), PP_OK);
	for (int i = 0; i < 2; i++) {
		int32_t got = 0;
		assert_int_equal(pp_call(rt, h, on[i], 0, NULL, &got, NULL), PP_OK);
		assert_int_equal(got, expect);
		assert_int_equal(pp_instance_destroy(rt, h, on[i]), PP_OK);
	}
	pp_runtime_free(rt);
}

/* The files a pool's load imports are read once, by the first VM that
 * imports them: a file changed while the VMs load (here by the first VM's
 * own init, standing for a deploy landing mid-load) made the VMs of one
 * load run different code. */
static void every_vm_of_a_pool_runs_the_code_its_load_read_first(void **state)
{
	(void)state;
	char dir[64];
	pool_dir(dir, sizeof dir, "concurrency = 2\n",
	         "import { k } from './lib.js';\n" JS_PRELUDE
	         "export function polyplug_init(hl, hh, cl, ch, b) {\n"
	         "  var w = cid('host_contract:test.Rewrite@1');\n"
	         "  b.callHostContract(w[0], w[1], 0x10000, 0, 0, 0);\n"
	         "  return ok([reg('js.pool', [function (i, a, o, ar, b) {\n"
	         "    b.writeI32(o, k); return 0; }])]);\n}\n");
	write_text(dir, "lib.js", "export const k = 1;\n");
	both_vms_answer(dir, "lib.js", "export const k = 2;\n", 1);
	remove_tree(dir);
}

/* And so is a file the first VM could not read: an import that failed on
 * it (and was caught) fails on the others too, though the file arrived
 * while they loaded (here written by the first VM's init). */
static void every_vm_of_a_pool_fails_an_import_its_load_could_not_read(void **state)
{
	(void)state;
	char dir[64];
	pool_dir(dir, sizeof dir, "concurrency = 2\n",
	         JS_PRELUDE
	         "var late = 0;\n"
	         "try { late = (await import('./late.js')).k; } catch (e) { late = -1; }\n"
	         "export function polyplug_init(hl, hh, cl, ch, b) {\n"
	         "  var w = cid('host_contract:test.Rewrite@1');\n"
	         "  b.callHostContract(w[0], w[1], 0x10000, 0, 0, 0);\n"
	         "  return ok([reg('js.pool', [function (i, a, o, ar, b) {\n"
	         "    b.writeI32(o, late); return 0; }])]);\n}\n");
	both_vms_answer(dir, "late.js", "export const k = 2;\n", -1);
	remove_tree(dir);
}

/* A call from a thread of its own: fn of contract with args (a bundle
 * taking one reads args[0]). */
typedef struct peer_call {
	pp_runtime *rt;
	const char *contract;
	uint32_t fn;
	int32_t args[2], out[4];
	uint32_t code;
	bool looks_held; /* its thread's looks wait while hold_looks is set */
	bool looks_torn; /* its thread's first look that finds a cycle is torn */
	atomic_int done;
} peer_call;

/* Holds the wait-cycle looks (the runtime's look_hook) of the threads whose
 * call says so, while hold_looks is set. */
static _Thread_local bool looks_held_here;
static atomic_bool hold_looks;

/* And on the thread whose call says so (looks_torn), the first look that
 * finds a cycle sees every other thread's wait move before it checks: as
 * if the thread it met had taken its VM and begun another wait. Its looks
 * that found one are counted, up to its first refusal. */
static _Thread_local bool looks_torn_here;
static atomic_int torn_looks, torn_looks_to_refusal;

static int hold_look(void *ud, int stage)
{
	pp_runtime *rt = ud;
	if (stage == PP_LOOK_BEGINS) {
		while (looks_held_here && atomic_load(&hold_looks))
			nanosleep(&(struct timespec){0, 1000000L}, NULL);
		return 0;
	}
	if (!looks_torn_here)
		return 0;
	if (stage == PP_LOOK_REFUSES) {
		int none = 0;
		atomic_compare_exchange_strong(&torn_looks_to_refusal, &none,
		                               atomic_load(&torn_looks));
		return 0;
	}
	if (stage != PP_LOOK_CHECKS || atomic_fetch_add(&torn_looks, 1) != 0)
		return 0;
	pthread_mutex_lock(&rt->tstate_lock);
	for (pp_tstate *ts = rt->tstates; ts; ts = ts->next)
		if (ts != pp__tstate_peek(rt))
			atomic_fetch_add(&ts->wait_seq, 1);
	pthread_mutex_unlock(&rt->tstate_lock);
	return 0;
}

static void *call_peer(void *p)
{
	peer_call *c = p;
	looks_held_here = c->looks_held;
	looks_torn_here = c->looks_torn;
	pp_guest_contract_handle h = pp_find(c->rt, pp_guest_contract_id(c->contract, 1), 0);
	c->code = pp_call(c->rt, h, (pp_guest_contract_instance){NULL, 0}, c->fn, c->args, c->out,
	                  NULL);
	atomic_store(&c->done, 1);
	return NULL;
}

/* Both VMs busy: A holds one at gate 0, B the other at gate 1. C waits for
 * the VM it tried first (A's); B's comes free first, and C must take it
 * instead of waiting for A (who is held until C is through). */
static void a_caller_waiting_on_a_busy_pool_takes_the_vm_that_comes_free_first(void **state)
{
	(void)state;
	pp_runtime *rt = rt_with_host_contracts(0);
	meeting_reset(2, 400); /* tickets from 1 */
	static const char src[] = POOL_BUNDLE("1", "false");
	load_pool(rt, "two", 2, src);
	gates_reset();

	peer_call a = {.rt = rt, .contract = "js.pool", .fn = 3, .args = {0}},
	          b = {.rt = rt, .contract = "js.pool", .fn = 3, .args = {1}},
	          c = {.rt = rt, .contract = "js.pool", .fn = 1};
	pthread_t ta, tb, tc;
	assert_int_equal(pthread_create(&ta, NULL, call_peer, &a), 0);
	await_true(gate_inside(0), 30);
	assert_int_equal(pthread_create(&tb, NULL, call_peer, &b), 0);
	await_true(gate_inside(1), 30);
	assert_int_equal(pthread_create(&tc, NULL, call_peer, &c), 0);
	/* Let C start waiting: should it not have yet when B's VM comes free,
	 * it takes that VM straight away and the test covers less, not fails. */
	struct timespec nap = {0, 200 * 1000000L};
	nanosleep(&nap, NULL);
	gate_open(1);
	/* C gets B's VM within the waiter's 20 ms look-around, not when A ends */
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		nanosleep(&(struct timespec){0, 1000000L}, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (!atomic_load(&c.done) && now.tv_sec - t0.tv_sec < 20);
	int c_through_while_a_held = atomic_load(&c.done);
	gate_open(0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_join(tc, NULL);
	assert_true(c_through_while_a_held);
	assert_int_equal(a.code, PP_OK);
	assert_int_equal(b.code, PP_OK);
	assert_int_equal(c.code, PP_OK);
	assert_in_range(c.out[0], 1, 2); /* a VM's ticket */
	pp_runtime_free(rt);
}

/* P, a pool of 2: fn 0 holds at the gate its args name, then calls R and
 * writes [gate's 1, R's status, R's answer...]; fn 1 answers 42; fn 2 holds
 * at a gate. R, one VM: fn 0 calls P's fn 1, writing [status, answer]. */
#define P_BUNDLE                                                                          \
	JS_PRELUDE                                                                        \
	"function polyplug_init(hl, hh, cl, ch, b) {\n"                                   \
	"  var g = cid('host_contract:test.Gate@1'), r = cid('guest_contract:js.r@1');\n" \
	"  return ok([reg('js.pool', [\n"                                                 \
	"    function (i, a, o, ar, b) {\n"                                               \
	"      b.callHostContract(g[0], g[1], 0x10000, 0, a, o);\n"                       \
	"      b.writeI32(o + 4, b.dispatchPeer(r[0], r[1], 0x10000, 0, 0, o + 8));\n"    \
	"      return 0; },\n"                                                            \
	"    function (i, a, o, ar, b) { b.writeI32(o, 42); return 0; },\n"               \
	"    function (i, a, o, ar, b) {\n"                                               \
	"      return b.callHostContract(g[0], g[1], 0x10000, 0, a, o); }])]);\n}\n"
#define R_BUNDLE                                                                            \
	JS_PRELUDE "function polyplug_init(hl, hh, cl, ch, b) {\n"                          \
	           "  var p = cid('guest_contract:js.pool@1');\n"                           \
	           "  return ok([reg('js.r', [function (i, a, o, ar, b) {\n"                \
	           "    b.writeI32(o, b.dispatchPeer(p[0], p[1], 0x10000, 1, 0, o + 4));\n" \
	           "    return 0; }])]);\n}\n"

/* A thread waiting for any VM of a pool waits for none in particular: A in
 * P's VM 0 calls R, whose thread W waits for a VM of P, both of them held
 * (VM 1 by C, which calls nobody). There is no cycle: C ends, W takes VM 1,
 * and R comes free for A. A's call was refused as one, because W was taken
 * to wait for VM 0 alone. */
static void a_wait_for_any_vm_of_a_pool_closes_no_cycle_through_one_of_them(void **state)
{
	(void)state;
	pp_runtime *rt = rt_with_host_contracts(0);
	load_pool(rt, "P", 2, P_BUNDLE);
	load_pool(rt, "R", 1, R_BUNDLE);
	gates_reset();
	peer_call a = {.rt = rt, .contract = "js.pool", .args = {0}},
	          c = {.rt = rt, .contract = "js.pool", .fn = 2, .args = {1}},
	          w = {.rt = rt, .contract = "js.r", .args = {0}};
	pthread_t ta, tc, tw;
	assert_int_equal(pthread_create(&ta, NULL, call_peer, &a), 0);
	await_true(gate_inside(0), 30);
	assert_int_equal(pthread_create(&tc, NULL, call_peer, &c), 0);
	await_true(gate_inside(1), 30);
	assert_int_equal(pthread_create(&tw, NULL, call_peer, &w), 0);
	struct timespec nap = {0, 300 * 1000000L};
	nanosleep(&nap, NULL); /* W waits for a VM of P (if not yet, less is tested) */
	gate_open(0);          /* A calls R, which W holds */
	nanosleep(&nap, NULL);
	gate_open(1); /* C leaves VM 1 */
	pthread_join(ta, NULL);
	pthread_join(tc, NULL);
	pthread_join(tw, NULL);
	assert_int_equal(a.code, PP_OK);
	assert_int_equal(a.out[1], PP_OK); /* A's call into R */
	assert_int_equal(a.out[2], PP_OK); /* R's into P, from A's thread: VM 1 */
	assert_int_equal(a.out[3], 42);
	assert_int_equal(w.code, PP_OK);
	assert_int_equal(w.out[0], PP_OK);
	assert_int_equal(w.out[1], 42);
	assert_int_equal(c.code, PP_OK);
	pp_runtime_free(rt);
}

/* S, a pool of 2: fn 0 holds at the gate its args name, then calls its own
 * fn 1 (served by another VM of the pool), writing [gate's 1, status,
 * answer]; fn 1 answers 42. */
#define SELF_BUNDLE                                                                          \
	JS_PRELUDE                                                                           \
	"function polyplug_init(hl, hh, cl, ch, b) {\n"                                      \
	"  var g = cid('host_contract:test.Gate@1'), s = cid('guest_contract:js.self@1');\n" \
	"  return ok([reg('js.self', [\n"                                                    \
	"    function (i, a, o, ar, b) {\n"                                                  \
	"      b.callHostContract(g[0], g[1], 0x10000, 0, a, o);\n"                          \
	"      b.writeI32(o + 4, b.dispatchPeer(s[0], s[1], 0x10000, 1, 0, o + 8));\n"       \
	"      return 0; },\n"                                                               \
	"    function (i, a, o, ar, b) { b.writeI32(o, 42); return 0; }])]);\n}\n"

static atomic_int self_calls_done;

static void *call_self(void *p)
{
	call_peer(p);
	atomic_fetch_add(&self_calls_done, 1);
	return NULL;
}

/* Two threads each hold a VM of a pool of 2 and call back into it, each
 * waiting for any VM: a deadlock. Neither's wait leads back to itself
 * through a VM the other holds (the other waits for the pool, whose VMs
 * lead to it), so both waited for good; now one is refused (both, if they
 * look at the same moment), and the other then gets its VM. */
static void two_threads_calling_back_into_a_full_pool_are_not_left_waiting(void **state)
{
	(void)state;
	pp_runtime *rt = rt_with_host_contracts(0);
	static const char src[] = SELF_BUNDLE;
	load_pool(rt, "S", 2, src);
	gates_reset();
	atomic_store(&self_calls_done, 0);
	peer_call x = {.rt = rt, .contract = "js.self", .args = {0}},
	          y = {.rt = rt, .contract = "js.self", .args = {1}};
	pthread_t tx, ty;
	assert_int_equal(pthread_create(&tx, NULL, call_self, &x), 0);
	await_true(gate_inside(0), 30);
	assert_int_equal(pthread_create(&ty, NULL, call_self, &y), 0);
	await_true(gate_inside(1), 30);
	gate_open(0);
	gate_open(1);
	/* a hang ends the test rather than CTest's timeout */
	for (int i = 0; i < 3000 && atomic_load(&self_calls_done) < 2; i++)
		nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
	if (atomic_load(&self_calls_done) < 2)
		fail_msg("both threads still wait after 30 s: the deadlock was not found");
	pthread_join(tx, NULL);
	pthread_join(ty, NULL);
	assert_int_equal(x.code, PP_OK);
	assert_int_equal(y.code, PP_OK);
	/* an inner call was refused; the other (unless both looked at once
	 * and were refused together) ran on the VM that freed */
	peer_call *both[2] = {&x, &y};
	int refused = 0;
	for (int i = 0; i < 2; i++) {
		if (both[i]->out[1] == PP_ERR_REENTRANT_CALL)
			refused++;
		else
			assert_int_equal(both[i]->out[2], 42);
	}
	assert_in_range(refused, 1, 2);
	pp_runtime_free(rt);
}

/* A bundle providing NAME: fn 0 holds at the gate args[0] names, then calls
 * fn 1 of the contract args[1] names (0: js.p, 1: js.q, 2: js.x, 3: js.y),
 * writing [gate's 1, status, answer]; fn 1 answers 42. */
#define GATED_CALLER(NAME)                                                             \
	JS_PRELUDE                                                                     \
	"var to = ['js.p', 'js.q', 'js.x', 'js.y'].map(function (s) {\n"               \
	"  return cid('guest_contract:' + s + '@1'); });\n"                            \
	"function polyplug_init(hl, hh, cl, ch, b) {\n"                                \
	"  var g = cid('host_contract:test.Gate@1');\n"                                \
	"  return ok([reg('" NAME "', [\n"                                             \
	"    function (i, a, o, ar, b) {\n"                                            \
	"      b.callHostContract(g[0], g[1], 0x10000, 0, a, o);\n"                    \
	"      var t = to[b.readI32(a + 4)];\n"                                        \
	"      b.writeI32(o + 4, b.dispatchPeer(t[0], t[1], 0x10000, 1, 0, o + 8));\n" \
	"      return 0; },\n"                                                         \
	"    function (i, a, o, ar, b) { b.writeI32(o, 42); return 0; }])]);\n}\n"

/* The look reads one thread's wait after another, not a snapshot: a wait it
 * read may have ended before it finished. It reads each count again at the
 * end and refuses nothing if one moved; the waiter looks again in 20 ms.
 * C holds X and calls Y (its looks held); D holds Y and calls X, closing
 * the cycle, and its first look finds every wait moved: it is not refused
 * then, but at a look after. */
static void a_look_whose_reads_were_overtaken_refuses_nothing_and_looks_again(void **state)
{
	(void)state;
	pp_runtime *rt = rt_with_host_contracts(0);
	load_pool(rt, "X", 1, GATED_CALLER("js.x"));
	load_pool(rt, "Y", 1, GATED_CALLER("js.y"));
	gates_reset();
	atomic_store(&hold_looks, true);
	atomic_store(&torn_looks, 0);
	atomic_store(&torn_looks_to_refusal, 0);
	rt->look_hook = hold_look;
	rt->look_hook_ud = rt;
	peer_call c = {.rt = rt, .contract = "js.x", .args = {0, 3}, .looks_held = true},
	          d = {.rt = rt, .contract = "js.y", .args = {1, 2}, .looks_torn = true};
	pthread_t tc, td;
	assert_int_equal(pthread_create(&tc, NULL, call_peer, &c), 0);
	await_true(gate_inside(0), 30);
	assert_int_equal(pthread_create(&td, NULL, call_peer, &d), 0);
	await_true(gate_inside(1), 30);
	gate_open(0); /* C waits for Y, its looks held */
	nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
	gate_open(1); /* D waits for X: a cycle */
	/* (C, held in its look, keeps Y's wait lock: D finishes once it goes) */
	await_true(atomic_load(&torn_looks_to_refusal) > 0, 30);
	atomic_store(&hold_looks, false);
	pthread_join(tc, NULL);
	pthread_join(td, NULL);
	rt->look_hook = NULL;
	assert_int_equal(c.code, PP_OK);
	assert_int_equal(d.code, PP_OK);
	assert_int_equal(d.out[1], PP_ERR_REENTRANT_CALL);        /* D's call into X */
	assert_int_equal(atomic_load(&torn_looks_to_refusal), 2); /* at the next look */
	assert_int_equal(c.out[1], PP_OK);                        /* C then got Y */
	assert_int_equal(c.out[2], 42);
	pp_runtime_free(rt);
}

/* A thread waiting behind a cycle it is not part of waits, even when
 * another thread waits behind it. P is a pool of 2; Q, X and Y have a VM
 * each. A holds P's VM and calls Q; B holds P's other VM and calls X; C
 * holds X and calls Y; D holds Y and calls X: C and D are a cycle, whose
 * looks are held (as when both are preempted, or their looks read a wait
 * that moved) while M, holding Q, calls P. M's going on would free A, but
 * M closes no cycle: once C or D is refused, the other goes on, then B,
 * whose VM of P M takes, and then A gets Q. M was refused. */
static void a_caller_behind_anothers_cycle_is_not_refused_when_others_wait_behind_it(void **state)
{
	(void)state;
	pp_runtime *rt = rt_with_host_contracts(0);
	load_pool(rt, "P", 2, GATED_CALLER("js.p"));
	load_pool(rt, "Q", 1, GATED_CALLER("js.q"));
	load_pool(rt, "X", 1, GATED_CALLER("js.x"));
	load_pool(rt, "Y", 1, GATED_CALLER("js.y"));
	gates_reset();
	atomic_store(&hold_looks, false);
	rt->look_hook = hold_look;
	rt->look_hook_ud = rt;
	peer_call a = {.rt = rt, .contract = "js.p", .args = {0, 1}},
	          b = {.rt = rt, .contract = "js.p", .args = {1, 2}},
	          c = {.rt = rt, .contract = "js.x", .args = {2, 3}, .looks_held = true},
	          d = {.rt = rt, .contract = "js.y", .args = {3, 2}, .looks_held = true},
	          m = {.rt = rt, .contract = "js.q", .args = {4, 0}};
	peer_call *all[5] = {&a, &b, &c, &d, &m};
	pthread_t th[5];
	for (int i = 0; i < 5; i++) { /* each in its VM, at gate i */
		assert_int_equal(pthread_create(&th[i], NULL, call_peer, all[i]), 0);
		await_true(gate_inside(i), 30);
	}
	struct timespec nap = {0, 100 * 1000000L};
	gate_open(0); /* A waits for Q (M's) */
	nanosleep(&nap, NULL);
	gate_open(1); /* B waits for X (C's) */
	nanosleep(&nap, NULL);
	atomic_store(&hold_looks, true);
	gate_open(2); /* C waits for Y (D's), its look held */
	nanosleep(&nap, NULL);
	gate_open(3); /* D waits for X (C's): the cycle, its look held */
	nanosleep(&nap, NULL);
	gate_open(4); /* M waits for a VM of P (A's and B's) and looks */
	nanosleep(&(struct timespec){0, 300 * 1000000L}, NULL);
	atomic_store(&hold_looks, false); /* C or D refuses the cycle */
	for (int i = 0; i < 5; i++)
		pthread_join(th[i], NULL);
	rt->look_hook = NULL;
	for (int i = 0; i < 5; i++)
		assert_int_equal(all[i]->code, PP_OK);
	/* the cycle's own call (C's or D's, or both if they looked at once) */
	assert_true(c.out[1] == PP_ERR_REENTRANT_CALL || d.out[1] == PP_ERR_REENTRANT_CALL);
	peer_call *waited[3] = {&a, &b, &m}; /* only waited */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(waited[i]->out[1], PP_OK);
		assert_int_equal(waited[i]->out[2], 42);
	}
	pp_runtime_free(rt);
}

/* M, a pool: fn 0 meets (every caller inside at once), then calls its own
 * fn 1 (another VM of the pool), writing [met, status, answer]. */
#define MEETSELF_BUNDLE                                                                    \
	JS_PRELUDE                                                                         \
	"function polyplug_init(hl, hh, cl, ch, b) {\n"                                    \
	"  var m = cid('host_contract:test.Meet@1'), s = cid('guest_contract:js.ms@1');\n" \
	"  return ok([reg('js.ms', [\n"                                                    \
	"    function (i, a, o, ar, b) {\n"                                                \
	"      b.callHostContract(m[0], m[1], 0x10000, 0, 0, o);\n"                        \
	"      b.writeI32(o + 4, b.dispatchPeer(s[0], s[1], 0x10000, 1, 0, o + 8));\n"     \
	"      return 0; },\n"                                                             \
	"    function (i, a, o, ar, b) { b.writeI32(o, 42); return 0; }])]);\n}\n"

/* Every VM of a pool of 8 held by a thread that calls back into the pool:
 * a deadlock of 8. The look walked every path through it and, past its
 * budget of words (from a pool of 7 on), said no cycle: all 8 waited for
 * good, each looking again every 20 ms. Now the threads are settled as a
 * fixed point: one is refused, and the rest then get their VMs. */
static void a_full_pool_calling_back_into_itself_is_refused_at_any_size(void **state)
{
	(void)state;
	enum { N = 8 };
	pp_runtime *rt = rt_with_host_contracts(0);
	meeting_reset(N, 30000);
	load_pool(rt, "M", N, MEETSELF_BUNDLE);
	atomic_store(&self_calls_done, 0);
	peer_call c[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		c[i] = (peer_call){.rt = rt, .contract = "js.ms", .args = {0}};
		assert_int_equal(pthread_create(&t[i], NULL, call_self, &c[i]), 0);
	}
	for (int i = 0; i < 6000 && atomic_load(&self_calls_done) < N; i++)
		nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
	if (atomic_load(&self_calls_done) < N)
		fail_msg("%d of %d threads finished in 60 s: the deadlock was not found",
		         atomic_load(&self_calls_done), N);
	int refused = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(c[i].code, PP_OK);
		assert_int_equal(c[i].out[0], 1); /* they all met */
		if (c[i].out[1] == PP_ERR_REENTRANT_CALL)
			refused++;
		else
			assert_int_equal(c[i].out[2], 42);
	}
	assert_in_range(refused, 1, N); /* all of them only if all looked at once */
	pp_runtime_free(rt);
}

/* Callers that only wait for each other's VMs (nobody calls out) are never
 * refused as a cycle. A thread that had just taken a VM still said it waited
 * for it, and a look that met it counted it as waiting for itself: about
 * one call in a thousand was refused, with one VM or a pool. */
typedef struct busy_caller {
	pp_runtime *rt;
	bool own; /* on an instance of its own (made here) */
	long refused, other;
} busy_caller;

static void *call_busily(void *p)
{
	busy_caller *b = p;
	pp_guest_contract_handle h = pool_handle(b->rt);
	for (int i = 0; i < 20000; i++) {
		pp_guest_contract_instance inst = {NULL, 0};
		uint32_t st = b->own ? pp_instance_create(b->rt, h, NULL, &inst) : PP_OK;
		int32_t vm = 0;
		if (st == PP_OK)
			st = pp_call(b->rt, h, inst, 1, NULL, &vm, NULL);
		if (inst.data)
			pp_instance_destroy(b->rt, h, inst);
		b->refused += st == PP_ERR_REENTRANT_CALL;
		b->other += st != PP_OK && st != PP_ERR_REENTRANT_CALL;
	}
	return NULL;
}

static void callers_waiting_only_for_each_other_are_never_refused(void **state)
{
	(void)state;
	static const char src[] = POOL_BUNDLE("1", "false");
	for (uint32_t vms = 1; vms <= 2; vms++) {
		pp_runtime *rt = rt_with_host_contracts(0);
		meeting_reset(2, 400);
		load_pool(rt, "busy", vms, src);
		busy_caller b[4];
		pthread_t t[4];
		for (int i = 0; i < 4; i++) {
			b[i] = (busy_caller){.rt = rt, .own = i % 2 == 1};
			assert_int_equal(pthread_create(&t[i], NULL, call_busily, &b[i]), 0);
		}
		long refused = 0, other = 0;
		for (int i = 0; i < 4; i++) {
			pthread_join(t[i], NULL);
			refused += b[i].refused;
			other += b[i].other;
		}
		if (refused || other)
			fail_msg("%u VMs: %ld of 80000 calls refused as a cycle, %ld failed "
			         "otherwise",
			         vms, refused, other);
		pp_runtime_free(rt);
	}
}

static void concurrency_outside_1_to_64_is_refused(void **state)
{
	(void)state;
	pp_runtime *rt = rt_with_host_contracts(0);
	static const char src[] = POOL_BUNDLE("1", "false");
	static const struct {
		const char *key, *says;
	} bad[] = {
	        {"concurrency = 0\n", "0 VMs"},
	        {"concurrency = 65\n", "65 VMs"},
	        {"concurrency = -1\n", "-1 VMs"},
	        {"concurrency = 18446744073709551615\n", "18446744073709551615 VMs"},
	        {"concurrency = \"2\"\n", "expected an integer, found a string"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char dir[64];
		pool_dir(dir, sizeof dir, bad[i].key, src);
		assert_int_not_equal(pp_bundle_load(rt, dir, NULL, NULL), PP_OK);
		assert_contains(pp_last_error(rt), "concurrency");
		assert_contains(pp_last_error(rt), bad[i].says);
		remove_tree(dir);
	}
	pp_load_options many = {.size = sizeof many, .name = "many", .js.concurrency = 65};
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &many, NULL),
	                 PP_ERR_INVALID_ARGUMENT);
	assert_contains(pp_last_error(rt), "js.concurrency is 65 VMs; the limit is 64");
	pp_runtime_free(rt);

	pp_runtime_config cfg;
	pp_runtime_config_init(&cfg);
	cfg.js.concurrency = PP_JS_MAX_CONCURRENCY + 1;
	pp_runtime *none = NULL;
	assert_int_equal(pp_runtime_new(&cfg, &none), PP_ERR_INVALID_ARGUMENT);
	assert_null(none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(a_pool_runs_calls_from_two_threads_at_once),
	        cmocka_unit_test(instances_stay_on_the_vm_that_made_them),
	        cmocka_unit_test(instances_made_on_one_thread_spread_over_the_pool),
	        cmocka_unit_test(the_factory_runs_once_per_vm_at_load_and_once_per_create),
	        cmocka_unit_test(a_block_freed_outside_the_vm_that_made_it_leaves_alloc_working),
	        cmocka_unit_test(a_reload_replaces_every_vm_of_the_pool),
	        cmocka_unit_test(every_vm_of_a_pool_must_register_the_same_contracts),
	        cmocka_unit_test(every_vm_of_a_pool_runs_the_code_its_load_read_first),
	        cmocka_unit_test(every_vm_of_a_pool_fails_an_import_its_load_could_not_read),
	        cmocka_unit_test(
	                a_caller_waiting_on_a_busy_pool_takes_the_vm_that_comes_free_first),
	        cmocka_unit_test(a_wait_for_any_vm_of_a_pool_closes_no_cycle_through_one_of_them),
	        cmocka_unit_test(two_threads_calling_back_into_a_full_pool_are_not_left_waiting),
	        cmocka_unit_test(a_full_pool_calling_back_into_itself_is_refused_at_any_size),
	        cmocka_unit_test(callers_waiting_only_for_each_other_are_never_refused),
	        cmocka_unit_test(
	                a_caller_behind_anothers_cycle_is_not_refused_when_others_wait_behind_it),
	        cmocka_unit_test(a_look_whose_reads_were_overtaken_refuses_nothing_and_looks_again),
	        cmocka_unit_test(concurrency_outside_1_to_64_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
