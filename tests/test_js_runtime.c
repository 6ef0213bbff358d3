/* test_js_runtime.c — JS bundles inside the runtime: peer calls across
 * languages, host contracts called from JS, threads (serialisation,
 * re-entry, parallelism, changing threads), engine limits, and reclamation. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "js_helpers.h"
#include "loaders/js/js_vm.h" /* a contract's instance map */
#include "rss.h"

#define ADD_FN                              \
	"function (impl, a, o, arena, b) {" \
	" b.writeI32(o, b.readI32(a) + b.readI32(a + 4)); return 0; }"

/* ---- Peers ----------------------------------------------------------------- */

/* bounce(n) = n, alternating with a peer; the JS side of ping.c. */
#define JS_BOUNCE(self, peer)                                                                \
	JS_PRELUDE "var peer = cid('guest_contract:" peer "@1');\n"                          \
	           "function polyplug_init(hl, hh, cl, ch, bridge) {\n"                      \
	           "  return ok([reg('" self "', [function (impl, a, o, ar, b) {\n"          \
	           "    var n = b.readI32(a); if (n <= 0) { b.writeI32(o, 0); return 0; }\n" \
	           "    var p = b.alloc(8); var ptr = p[1] * 4294967296 + p[0];\n"           \
	           "    b.writeI32(ptr, n - 1);\n"                                           \
	           "    var code = b.dispatchPeer(peer[0], peer[1], 0, 0, ptr, ptr + 4);\n"  \
	           "    var got = b.readI32(ptr + 4); b.free(p[0], p[1], 8, 1);\n"           \
	           "    if (code !== 0) return code;\n"                                      \
	           "    b.writeI32(o, got + 1); return 0; }])]);\n}\n"

static void peers_call_across_languages(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	uint32_t code;
	/* JS -> JS: one hop */
	js_load_ok(rt, "js-ping", JS_BOUNCE("test.ping", "test.pong"));
	js_load_ok(rt, "js-pong", JS_BOUNCE("test.pong", "test.ping"));
	assert_int_equal(call_i32(rt, "test.ping", 0, 1, &code), 1);
	assert_int_equal(code, PP_OK);
	/* a second hop would re-enter ping's VM on this thread: refused, as the
	 * reference refuses it, and ping's VM answers again afterwards */
	call_i32(rt, "test.ping", 0, 2, &code);
	assert_int_equal(code, PP_ERR_REENTRANT_CALL);
	assert_int_equal(call_i32(rt, "test.ping", 0, 0, &code), 0);
	assert_int_equal(code, PP_OK);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("js-ping"), 0), PP_OK);
	/* C -> JS -> C: the native ping fixture against the JS pong */
	load_ok(rt, fx("ping"));
	assert_int_equal(call_i32(rt, "test.ping", 0, 2, &code), 2);
	assert_int_equal(code, PP_OK);
	/* JS -> C, and JS -> C -> (the same JS VM) is re-entry again */
	assert_int_equal(call_i32(rt, "test.pong", 0, 1, &code), 1);
	assert_int_equal(code, PP_OK);
	call_i32(rt, "test.pong", 0, 2, &code);
	assert_int_equal(code, PP_ERR_REENTRANT_CALL);
	/* a missing peer is NotFound */
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("ping"), 0), PP_OK);
	call_i32(rt, "test.pong", 0, 3, &code);
	assert_int_equal(code, PP_ERR_NOT_FOUND);
	pp_runtime_free(rt);
}

static void js_calls_native_contracts_with_bounds_checks(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	load_ok(rt, fx("calc_v1"));
	js_load_ok(rt, "caller",
	           JS_PRELUDE
	           "var calc = cid('guest_contract:test.calc@1');\n"
	           "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	           "  return ok([reg('js.caller', [function (impl, a, o, ar, b) {\n"
	           "    return b.dispatchPeer(calc[0], calc[1], 1, b.readU32(a), a + 4, o);\n"
	           "  }])]);\n}\n");
	struct {
		uint32_t fn;
		int32_t x, y;
	} args = {0, 20, 22};
	int32_t out = 0;
	assert_int_equal(js_call(rt, "js.caller", 0, &args, &out), PP_OK);
	assert_int_equal(out, 42);
	args.fn = 2; /* calc_fail: its own code comes back */
	assert_int_equal(js_call(rt, "js.caller", 0, &args, &out), 300);
	args.fn = 4; /* past the table */
	assert_int_equal(js_call(rt, "js.caller", 0, &args, &out), PP_ERR_FUNCTION_NOT_AVAILABLE);
	pp_runtime_free(rt);
}

static void calling_into_the_same_vm_is_reentrant_and_recovers(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "selfish",
	           JS_PRELUDE
	           "var me = cid('guest_contract:js.self@1');\n"
	           "function polyplug_init(hl, hh, cl, ch, bridge) {\n"
	           "  return ok([reg('js.self', [function (impl, a, o, ar, b) {\n"
	           "    b.writeI32(o, b.dispatchPeer(me[0], me[1], 0, 1, 0, 0)); return 0;\n"
	           "  }, function () { return 0; }])]);\n}\n");
	int32_t nested = 0;
	assert_int_equal(js_call(rt, "js.self", 0, NULL, &nested), PP_OK);
	assert_int_equal(nested, PP_ERR_REENTRANT_CALL);
	assert_int_equal(js_call(rt, "js.self", 1, NULL, NULL), PP_OK); /* still usable */
	pp_runtime_free(rt);
}

/* ---- Host contracts -------------------------------------------------------- */

typedef struct counter_host {
	pp_host_contract_interface iface;
	atomic_int created, destroyed;
} counter_host;

static void counter_add(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)err;
	int64_t *total = state;
	*total += *(const int32_t *)args;
	*(int64_t *)out = *total;
}

static const void *const counter_fns[] = {(const void *)counter_add};

static pp_host_contract_instance counter_create(const pp_host_contract_interface *self,
                                                const void *args)
{
	(void)args;
	atomic_fetch_add(&((counter_host *)(void *)self)->created, 1);
	pp_host_contract_instance inst = {calloc(1, sizeof(int64_t))};
	return inst;
}

static void counter_destroy(const pp_host_contract_interface *self, pp_host_contract_instance inst)
{
	atomic_fetch_add(&((counter_host *)(void *)self)->destroyed, 1);
	free(inst.data);
}

/* A VM-dispatched host contract: the runtime calls `call` with fn ids. */
static void vm_host_call(pp_vm_loader_data ld, pp_guest_contract_instance inst, uint32_t fn_id,
                         const void *args, void *out, pp_call_arena *arena, pp_abi_error *err)
{
	(void)inst;
	(void)arena;
	if (fn_id != 0) {
		err->code = PP_ERR_FUNCTION_NOT_AVAILABLE;
		return;
	}
	*(int32_t *)out = *(const int32_t *)args * *(const int32_t *)ld.data;
}

/* Calls fn args[0] of host contract name@major, asking for min_version at. */
#define JS_HOSTCALL_AT(name, major, at)                                                  \
	JS_PRELUDE                                                                       \
	"var hc = cid('host_contract:" name "@" major "');\n"                            \
	"function polyplug_init(hl, hh, cl, ch, bridge) {\n"                             \
	"  return ok([reg('js.hostcall', [function (impl, a, o, ar, b) {\n"              \
	"    return b.callHostContract(hc[0], hc[1], " at ", b.readU32(a), a + 4, o);\n" \
	"  }])]);\n}\n"
#define JS_HOSTCALL(name, major) JS_HOSTCALL_AT(name, major, "0x10000")

static void js_calls_host_contracts(void **state)
{
	(void)state;
	counter_host single = {.iface = {.contract_version = {1, 0, 0},
	                                 .flags = PP_HOST_CONTRACT_SINGLETON,
	                                 .dispatch_type = PP_DISPATCH_NATIVE,
	                                 .create_instance = counter_create,
	                                 .destroy_instance = counter_destroy,
	                                 .dispatch.native = {1, counter_fns}}};
	counter_host per_call = single;
	single.iface.contract_id = pp_host_contract_id("test.single", 1);
	per_call.iface.contract_id = pp_host_contract_id("test.percall", 1);
	per_call.iface.flags = 0;
	int32_t factor = 3;
	pp_host_contract_interface vm_iface = {.contract_id = pp_host_contract_id("test.vm", 1),
	                                       .contract_version = {1, 0, 0},
	                                       .flags = PP_HOST_CONTRACT_SINGLETON,
	                                       .dispatch_type = PP_DISPATCH_VM,
	                                       .create_instance = counter_create,
	                                       .destroy_instance = counter_destroy,
	                                       .dispatch.vm = {vm_host_call, {&factor}}};
	counter_host vm_host = {.iface = vm_iface};

	pp_runtime *rt = rt_new();
	assert_int_equal(pp_host_contract_register(rt, &single.iface), PP_OK);
	assert_int_equal(pp_host_contract_register(rt, &per_call.iface), PP_OK);
	assert_int_equal(pp_host_contract_register(rt, &vm_host.iface), PP_OK);
	js_load_ok(rt, "single", JS_HOSTCALL("test.single", "1"));
	struct {
		uint32_t fn;
		int32_t n;
	} args = {0, 5};
	int64_t total = 0;
	assert_int_equal(js_call(rt, "js.hostcall", 0, &args, &total), PP_OK);
	assert_int_equal(js_call(rt, "js.hostcall", 0, &args, &total), PP_OK);
	assert_int_equal(total, 10); /* one shared instance */
	assert_int_equal(atomic_load(&single.created), 1);

	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("single"), 0), PP_OK);
	js_load_ok(rt, "percall", JS_HOSTCALL("test.percall", "1"));
	assert_int_equal(js_call(rt, "js.hostcall", 0, &args, &total), PP_OK);
	assert_int_equal(js_call(rt, "js.hostcall", 0, &args, &total), PP_OK);
	assert_int_equal(total, 5); /* a fresh instance each call */
	args.fn = 9;                /* out of range: created and destroyed all the same */
	assert_int_equal(js_call(rt, "js.hostcall", 0, &args, &total),
	                 PP_ERR_FUNCTION_NOT_AVAILABLE);
	assert_int_equal(atomic_load(&per_call.created), 3);
	assert_int_equal(atomic_load(&per_call.destroyed), 3);

	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("percall"), 0), PP_OK);
	js_load_ok(rt, "vm", JS_HOSTCALL("test.vm", "1"));
	args.fn = 0;
	int32_t product = 0;
	assert_int_equal(js_call(rt, "js.hostcall", 0, &args, &product), PP_OK);
	assert_int_equal(product, 15);
	args.fn = 1;
	assert_int_equal(js_call(rt, "js.hostcall", 0, &args, &product),
	                 PP_ERR_FUNCTION_NOT_AVAILABLE);

	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("vm"), 0), PP_OK);
	/* Missing, or too old a minor: NotFound, as the reference's bridge
	 * answers (so does the host table's call_host_contract; its lookups
	 * leave 100 and 101 as the last error). */
	js_load_ok(rt, "missing", JS_HOSTCALL("test.nobody", "1"));
	args.fn = 0;
	assert_int_equal(js_call(rt, "js.hostcall", 0, &args, &product), PP_ERR_NOT_FOUND);
	assert_int_equal(pp_bundle_unload(rt, pp_bundle_id("missing"), 0), PP_OK);
	js_load_ok(rt, "newer", JS_HOSTCALL_AT("test.single", "1", "0x10009"));
	assert_int_equal(js_call(rt, "js.hostcall", 0, &args, &product), PP_ERR_NOT_FOUND);
	pp_runtime_free(rt);
}

/* ---- Threads --------------------------------------------------------------- */

/* A host contract whose function blocks until released, so a JS call can be
 * held inside its VM while other threads act. */
typedef struct gate {
	pp_host_contract_interface iface;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int inside, open;
} gate;

static void gate_wait(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)args;
	(void)err;
	gate *g = state;
	pthread_mutex_lock(&g->lock);
	g->inside++;
	pthread_cond_broadcast(&g->cond);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	int seen = 0;
	/* with open == 0, wait to be released; with open == N, wait until N
	 * callers are inside at once (parallelism) */
	while (g->open == 0 || (g->open > 1 && g->inside < g->open)) {
		if (pthread_cond_timedwait(&g->cond, &g->lock, &until) != 0)
			break;
	}
	seen = g->inside;
	pthread_mutex_unlock(&g->lock);
	*(int32_t *)out = seen;
}

static const void *const gate_fns[] = {(const void *)gate_wait};

static pp_host_contract_instance gate_create(const pp_host_contract_interface *self,
                                             const void *args)
{
	(void)args;
	pp_host_contract_instance inst = {(void *)self};
	return inst;
}

static void gate_destroy(const pp_host_contract_interface *self, pp_host_contract_instance inst)
{
	(void)self;
	(void)inst;
}

static void gate_init(gate *g, int open)
{
	memset(g, 0, sizeof *g);
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->open = open;
	g->iface.contract_id = pp_host_contract_id("test.gate", 1);
	g->iface.contract_version = (pp_version){1, 0, 0};
	g->iface.flags = PP_HOST_CONTRACT_SINGLETON;
	g->iface.dispatch_type = PP_DISPATCH_NATIVE;
	g->iface.create_instance = gate_create;
	g->iface.destroy_instance = gate_destroy;
	g->iface.dispatch.native.function_count = 1;
	g->iface.dispatch.native.functions = gate_fns;
}

static void gate_release(gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = 1;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static void gate_wait_inside(gate *g, int n)
{
	pthread_mutex_lock(&g->lock);
	while (g->inside < n)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

/* fn 0 waits at the gate; fn 1 returns 0 at once. */
#define JS_GATED(contract)                                                              \
	JS_PRELUDE "var g = cid('host_contract:test.gate@1');\n"                        \
	           "function polyplug_init(hl, hh, cl, ch, bridge) {\n"                 \
	           "  return ok([reg('" contract "', [function (impl, a, o, ar, b) {\n" \
	           "    return b.callHostContract(g[0], g[1], 0, 0, 0, o);\n"           \
	           "  }, function () { return 0; }])]);\n}\n"

typedef struct call_job {
	pp_runtime *rt;
	const char *contract;
	uint32_t fn;
	uint32_t code;
	int32_t out;
	bool bar_membarrier; /* deny this thread membarrier(2) first */
	bool barred;         /* it was */
} call_job;

/* Bars the calling thread alone from membarrier(2) (EPERM), as a host's
 * per-thread sandbox may. False if seccomp is not available here. */
static bool deny_membarrier_on_this_thread(void)
{
	struct sock_filter f[] = {
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 1),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof f / sizeof f[0], f};
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	       syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
}

static void *call_thread(void *p)
{
	call_job *j = p;
	if (j->bar_membarrier)
		j->barred = deny_membarrier_on_this_thread();
	j->code = js_call(j->rt, j->contract, j->fn, NULL, &j->out);
	return NULL;
}

/* Thread a holds the VM at the gate while thread b (barred from
 * membarrier if asked) calls in: b must wait, then succeed. Returns
 * whether b was barred. */
static bool second_thread_waits_then_succeeds(bool bar_membarrier)
{
	gate g;
	gate_init(&g, 0);
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_host_contract_register(rt, &g.iface), PP_OK);
	js_load_ok(rt, "gated", JS_GATED("js.gated"));
	call_job a = {.rt = rt, .contract = "js.gated", .fn = 0, .code = 99};
	call_job b = {.rt = rt, .contract = "js.gated", .fn = 1, .code = 99};
	b.bar_membarrier = bar_membarrier;
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, call_thread, &a), 0);
	gate_wait_inside(&g, 1); /* a is inside the VM */
	assert_int_equal(pthread_create(&tb, NULL, call_thread, &b), 0);
	usleep(50000);
	assert_int_equal(b.code, 99); /* still waiting: one call at a time */
	gate_release(&g);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.code, PP_OK);
	assert_int_equal(b.code, PP_OK); /* not ReentrantCall */
	pp_runtime_free(rt);
	return b.barred;
}

static void a_second_thread_waits_for_the_vm_then_succeeds(void **state)
{
	(void)state;
	second_thread_waits_then_succeeds(false);
}

/* A waiting caller fences with membarrier so that the VM's owner need not;
 * a thread that may not use it waits all the same (it retries on a timer)
 * instead of taking the process down. */
static void a_waiter_barred_from_membarrier_still_gets_the_vm(void **state)
{
	(void)state;
	if (!second_thread_waits_then_succeeds(true))
		skip(); /* no seccomp here: only the ordinary wait was shown */
}

static void different_bundles_run_in_parallel(void **state)
{
	(void)state;
	gate g;
	gate_init(&g, 2); /* each call waits until both are inside at once */
	pp_runtime *rt = rt_new();
	assert_int_equal(pp_host_contract_register(rt, &g.iface), PP_OK);
	js_load_ok(rt, "left", JS_GATED("js.left"));
	js_load_ok(rt, "right", JS_GATED("js.right"));
	call_job a = {.rt = rt, .contract = "js.left", .code = 99};
	call_job b = {.rt = rt, .contract = "js.right", .code = 99};
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, call_thread, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, call_thread, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.code, PP_OK);
	assert_int_equal(b.code, PP_OK);
	assert_int_equal(a.out, 2); /* both were inside their VMs together */
	assert_int_equal(b.out, 2);
	pp_runtime_free(rt);
}

typedef struct deep_job {
	pp_runtime *rt;
	uint32_t code;
	int32_t out;
} deep_job;

static void *deep_call(void *p)
{
	deep_job *j = p;
	int32_t depth = 300;
	j->code = js_call(j->rt, "js.deep", 0, &depth, &j->out);
	return NULL;
}

static void calls_from_other_threads_get_their_own_stack(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	/* A budget of 3 MiB, below every thread's stack: 300 frames fit it even
	 * with an unoptimised QuickJS (a Debug build's frames are several times
	 * larger), and only a stack limit measured on the wrong thread fails. */
	pp_load_options o = {.name = "deep", .js = {.stack_bytes = 3u << 20}};
	const char *src = JS_ONE("js.deep", "function (impl, a, o, ar, b) {"
	                                    " function r(n) { return n ? 1 + r(n - 1) : 0; }"
	                                    " b.writeI32(o, r(b.readI32(a))); return 0; }");
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL), PP_OK);
	for (int i = 0; i < 3; i++) {
		deep_job j = {rt, 99, 0};
		pthread_t t;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, (size_t)(4 + 2 * i) << 20);
		assert_int_equal(pthread_create(&t, &attr, deep_call, &j), 0);
		pthread_join(t, NULL);
		pthread_attr_destroy(&attr);
		assert_int_equal(j.code, PP_OK);
		assert_int_equal(j.out, 300);
	}
	pp_runtime_free(rt);
}

/* ---- Limits ---------------------------------------------------------------- */

static void endless_loop_times_out_and_the_vm_still_works(void **state)
{
	(void)state;
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_TRACE);
	pp_load_options o = {.name = "spinner", .js = {.cpu_ms = 200}};
	const char *src =
	        JS_ONE("js.spin", "function () { while (true) {} },"
	                          "function () { try { while (true) {} } catch (e) {} }," ADD_FN);
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL), PP_OK);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(js_call(rt, "js.spin", 0, NULL, NULL), PP_ERR_TIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms >= 150 && ms < 60000); /* stopped; CPU time, so wall time is loose */
	assert_contains(logs.last, "CPU limit of 200 ms");
	/* the guest cannot catch the interruption */
	assert_int_equal(js_call(rt, "js.spin", 1, NULL, NULL), PP_ERR_TIMEOUT);
	pair p = {2, 3};
	int32_t r = 0;
	assert_int_equal(js_call(rt, "js.spin", 2, &p, &r), PP_OK);
	assert_int_equal(r, 5);
	/* an endless loop at load time fails the load the same way */
	const char *bad = "while (true) {}\n";
	pp_load_options o2 = {.name = "stuck", .js = {.cpu_ms = 100}};
	assert_int_equal(pp_bundle_load_source(rt, bad, strlen(bad), &o2, NULL), PP_ERR_TIMEOUT);
	assert_contains(pp_last_error(rt), "bundle 'stuck'");
	pp_runtime_free(rt);
}

/* How much slower the sanitizer builds run QuickJS. */
#if defined(PP_SANITIZE_THREAD)
#define SLOWDOWN 8
#elif defined(PP_SANITIZE_ADDRESS)
#define SLOWDOWN 4
#else
#define SLOWDOWN 1
#endif

/* The parser hogs' sources double a ';' (or a 6-byte JSON member) this many
 * times: 64 MiB (48 MiB of JSON) take about a second to parse in a plain
 * build, and a quarter of that to make. Sanitizers are slower at both, so
 * they parse a quarter (ASan) or an eighth (TSan). */
#if SLOWDOWN > 4
#define PARSE_DOUBLINGS "23"
#define JSON_DOUBLINGS "20"
#elif SLOWDOWN > 1
#define PARSE_DOUBLINGS "24"
#define JSON_DOUBLINGS "21"
#else
#define PARSE_DOUBLINGS "26"
#define JSON_DOUBLINGS "23"
#endif

static double thread_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Each spends its time inside C builtins, where QuickJS's own polling
 * (every 10000 bytecode branches) never comes, or comes minutes apart. */
static const char *const builtin_hogs[] = {
        "Array.prototype.indexOf.call({ length: 2 ** 53 - 1 }, 1)",
        "Array.prototype.lastIndexOf.call({ length: 2 ** 53 - 1 }, 1)",
        "new Array(2 ** 32 - 1).join('')",
        "for (;;) new Array(1 << 17).fill(0)",
        "var keep = []; for (;;) { try { keep.push(new Array(1e5).fill(1)); } catch (e) {} }",
        "var s = 'a'.repeat(1 << 24); for (;;) s.indexOf('b')",
        "var u = new Uint8Array(1 << 25); for (;;) u.fill(1)",
        "var t = new Float64Array(1 << 21).map(Math.random); for (;;) t.slice().sort()",
        "var a = []; for (var i = 0; i < 3e5; i++) a.push(i); for (;;) a.slice().sort()",
        "for (;;) 'ab'.repeat(1 << 22)",
        "/(a+)+$/.test('a'.repeat(40) + 'b')",
        "Array.prototype.reverse.call({ length: 2 ** 53 - 1 })",
        "Array.prototype.forEach.call({ length: 2 ** 53 - 1 }, Math.abs)",
        /* one call each, comparing the pattern at every position: minutes */
        "var p = 'a'.repeat(1 << 14) + 'b'; 'a'.repeat(1 << 24).indexOf(p)",
        "var p = 'a'.repeat(1 << 14) + 'b'; 'a'.repeat(1 << 24).lastIndexOf(p)",
        "var p = 'a'.repeat(1 << 14) + 'b'; 'a'.repeat(1 << 24).includes(p)",
        "var p = 'a'.repeat(1 << 14) + 'b'; 'a'.repeat(1 << 24).split(p)",
        "var p = 'a'.repeat(1 << 14) + 'b'; 'a'.repeat(1 << 24).replaceAll(p, '')",
        "var p = 'a'.repeat(1 << 14) + 'b'; 'a'.repeat(1 << 24).replace(p, '')",
};

/* The parsers: a second or more each, one token at a time. Their sources
 * are made at load (reading a long string the first time is one long
 * builtin step), under a limit of 400 ms: more than making the source
 * takes, less than parsing it, which without polls in the parser ran to
 * its end and returned PP_OK. */
static const struct {
	const char *setup, *call;
} parser_hogs[] = {
        {"var S = '\"a\":0,'; for (var i = 0; i < " JSON_DOUBLINGS "; i++) S += S;"
         " S = '{' + S + '\"a\":0}';"
         " S.charCodeAt(0)",
         "JSON.parse(S)"},
        {"var S = ';'; for (var i = 0; i < " PARSE_DOUBLINGS "; i++) S += S; S.charCodeAt(0)",
         "eval(S)"},
        {"var S = ';'; for (var i = 0; i < " PARSE_DOUBLINGS "; i++) S += S; S.charCodeAt(0)",
         "new Function(S)"},
};

/* Loads a bundle with a CPU limit of cpu_ms that runs setup at load and
 * whose fn 0 runs hog: the call must end as PP_ERR_TIMEOUT within twice its
 * limit, and the VM go on working. */
static void hog_is_stopped(pp_runtime *rt, uint32_t cpu_ms, const char *setup, const char *hog)
{
	pp_load_options o = {.name = "hog", .js = {.cpu_ms = cpu_ms, .memory_bytes = 192u << 20}};
	char src[4096];
	snprintf(src, sizeof src, "%s;\n" JS_ONE("js.hog", "function () { %s; return 0; }," ADD_FN),
	         setup, hog);
	uint64_t id = 0;
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, &id), PP_OK);
	double t0 = thread_cpu_ms();
	uint32_t code = js_call(rt, "js.hog", 0, NULL, NULL);
	double ms = thread_cpu_ms() - t0;
	if (code != PP_ERR_TIMEOUT || ms > 2.0 * cpu_ms * SLOWDOWN)
		fail_msg("'%s': status %u after %.0f ms of CPU (limit %u ms)", hog, code, ms,
		         cpu_ms);
	pair p = {40, 2};
	int32_t r = 0;
	assert_int_equal(js_call(rt, "js.hog", 1, &p, &r), PP_OK);
	assert_int_equal(r, 42);
	assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
}

static void the_cpu_limit_stops_calls_inside_builtins(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	for (size_t i = 0; i < sizeof builtin_hogs / sizeof *builtin_hogs; i++)
		hog_is_stopped(rt, 300, "", builtin_hogs[i]);
	for (size_t i = 0; i < sizeof parser_hogs / sizeof *parser_hogs; i++)
		hog_is_stopped(rt, 400, parser_hogs[i].setup, parser_hogs[i].call);
	/* the bundle's own source is parsed under the load's CPU limit; its
	 * reading and checking before the parse are not (js.md), so they are
	 * measured first: the same source failing at its first token */
	size_t n = (size_t)1 << strtol(PARSE_DOUBLINGS, NULL, 10);
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, ';', n);
	big[0] = ')';
	pp_load_options o = {.name = "bigsrc", .js = {.cpu_ms = 100, .memory_bytes = 192u << 20}};
	double t0 = thread_cpu_ms();
	assert_int_equal(pp_bundle_load_source(rt, big, n, &o, NULL), PP_ERR_LOAD_FAILED);
	double before = thread_cpu_ms() - t0;
	big[0] = ';';
	t0 = thread_cpu_ms();
	uint32_t code = pp_bundle_load_source(rt, big, n, &o, NULL);
	double ms = thread_cpu_ms() - t0;
	free(big);
	if (code != PP_ERR_TIMEOUT || ms > before + 2.0 * 100 * SLOWDOWN)
		fail_msg("parsing its own source: status %u after %.0f ms of CPU (limit 100 ms, "
		         "%.0f ms before the parse)",
		         code, ms, before);
	assert_contains(pp_last_error(rt), "bundle 'bigsrc'");
	pp_runtime_free(rt);
}

static double wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* In a new runtime: a bundle with a 60 s CPU limit (the watchdog ticks every
 * 250 ms), then one with a 40 ms limit (5 ms) whose call spins in a
 * builtin; the status of that call and the CPU and wall time it took. */
static uint32_t hog_after_a_patient_bundle(double *cpu, double *wall)
{
	pp_runtime *rt = rt_new();
	pp_load_options slow = {.name = "patient", .js = {.cpu_ms = 60000}};
	const char *src = JS_ONE("js.patient", ADD_FN);
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &slow, NULL), PP_OK);
	pair p = {40, 2};
	int32_t r = 0;
	assert_int_equal(js_call(rt, "js.patient", 0, &p, &r), PP_OK);
	usleep(20 * 1000); /* the watchdog sleeps on its 250 ms tick */
	pp_load_options o = {.name = "hog", .js = {.cpu_ms = 40}};
	char hog[4096];
	/* each scan one poll of QuickJS's: without the watchdog's request, its
	 * interrupt handler would run only every 10000 scans */
	snprintf(hog, sizeof hog,
	         JS_ONE("js.hog", "function () { var s = 'a'.repeat(1 << 20); for (;;) "
	                          "s.indexOf('b'); }," ADD_FN));
	double w0 = wall_ms();
	assert_int_equal(pp_bundle_load_source(rt, hog, strlen(hog), &o, NULL), PP_OK);
	double c0 = thread_cpu_ms();
	uint32_t code = js_call(rt, "js.hog", 0, NULL, NULL);
	*cpu = thread_cpu_ms() - c0;
	*wall = wall_ms() - w0;
	assert_int_equal(js_call(rt, "js.hog", 1, &p, &r), PP_OK); /* the VM still works */
	assert_int_equal(r, 42);
	pp_runtime_free(rt);
	return code;
}

/* The watchdog ticks at the shortest period of what it watches and is woken
 * only when a registration shortens it: a bundle with a short limit loaded
 * after one with a long limit is stopped near its own limit, not at the
 * long one's next tick (about 275 ms into the call). The limit is CPU time,
 * so the bound needs no slowdown for sanitizers; the wall-time bound, which
 * is what catches a missed wake, is checked in plain builds only. A busy
 * machine can starve the call or the watchdog thread itself, so a late stop
 * is tried again in a new runtime; a missed wake is late every time. */
static void a_shorter_cpu_limit_loaded_later_is_enforced_at_its_own_pace(void **state)
{
	(void)state;
	double cpu = 0, wall = 0;
	for (int attempt = 0; attempt < 5; attempt++) {
		uint32_t code = hog_after_a_patient_bundle(&cpu, &wall);
		if (code != PP_ERR_TIMEOUT)
			fail_msg("status %u after %.0f ms of CPU (limit 40 ms)", code, cpu);
		if (cpu <= 150 && (SLOWDOWN > 1 || wall < 200))
			return;
	}
	fail_msg("stopped after %.0f ms (%.0f ms of CPU) with a 40 ms limit, five times: the "
	         "watchdog kept the other bundle's 250 ms tick",
	         wall, cpu);
}

static void allocation_bomb_fails_the_call_not_the_process(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	pp_load_options o = {.name = "bomb", .js = {.memory_bytes = 16u << 20}};
	const char *src = JS_ONE(
	        "js.bomb",
	        "function () { var a = []; for (;;) a.push(new Array(1e5).fill(1)); },"
	        "function () { var keep = []; for (;;) keep.push(new Uint8Array(1 << 20)); },"
	        "function () { return new Uint8Array(1 << 30).length; }," ADD_FN);
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL), PP_OK);
	for (uint32_t fn = 0; fn < 3; fn++) {
		uint32_t code = js_call(rt, "js.bomb", fn, NULL, NULL);
		if (code != PP_ERR_OUT_OF_MEMORY)
			fail_msg("bomb %u: status %u: %s", fn, code, pp_last_error(rt));
		assert_contains(pp_last_error(rt),
		                "ran out of memory (the VM's limit is 16777216 bytes)");
	}
	pair p = {40, 2};
	int32_t r = 0;
	assert_int_equal(js_call(rt, "js.bomb", 3, &p, &r), PP_OK);
	assert_int_equal(r, 42);
	pp_runtime_free(rt);
}

/* Text a guest hands over with lone surrogates is copied to replace them:
 * on the VM's heap, so the copy counts against its memory limit (it was
 * malloc'd beside the limit: 12 MiB here, past a 40 MiB limit). */
static void text_conversion_copies_count_against_the_memory_limit(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	pp_load_options o = {.name = "text", .js = {.memory_bytes = 40u << 20}};
	/* 8 MiB of UTF-16, 12 MiB of UTF-8, 12 MiB replaced, 12 MiB of result */
	const char *src =
	        JS_ONE("js.text", "function () { var s = '\\ud800'.repeat(1 << 22);"
	                          " return new TextEncoder().encode(s).length; }," ADD_FN);
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL), PP_OK);
	uint32_t code = js_call(rt, "js.text", 0, NULL, NULL);
	if (code != PP_ERR_OUT_OF_MEMORY)
		fail_msg("status %u: %s", code, pp_last_error(rt));
	pair p = {40, 2};
	int32_t r = 0;
	assert_int_equal(js_call(rt, "js.text", 1, &p, &r), PP_OK);
	assert_int_equal(r, 42);
	pp_runtime_free(rt);
}

/* An instance's method table is on the VM's heap: a contract of 32768
 * methods costs 512 KiB per instance, which the VM's 32 MiB limit now
 * bounds (400 instances once took 200 MiB of host memory beside it). */
static void instances_count_against_the_memory_limit(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const char src[] = JS_PRELUDE
	        "function polyplug_init() {\n"
	        "  var N = 32768, fns = [], sigs = [];\n"
	        "  for (var i = 0; i < N; i++) { fns.push(function () {});\n"
	        "    sigs.push({ params: [], result: 'i32', method: 'm' }); }\n"
	        "  var proto = { m() { return 7; } };\n"
	        "  var r = reg('js.wide', fns, function () { return Object.create(proto); });\n"
	        "  r.interface.signatures = sigs;\n"
	        "  return ok([r]);\n}\n";
	pp_load_options o = {.name = "wide", .js = {.memory_bytes = 32u << 20}};
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL), PP_OK);
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("js.wide", 1), 0);
	enum { TRIES = 400 };
	static pp_guest_contract_instance inst[TRIES];
	int made = 0;
	pp_status st = PP_OK;
	while (made < TRIES && (st = pp_instance_create(rt, h, NULL, &inst[made])) == PP_OK)
		made++;
	assert_int_equal(st, PP_ERR_OUT_OF_MEMORY);
	assert_true(made < 64); /* 32 MiB / 512 KiB */
	for (int i = 0; i < made; i++)
		assert_int_equal(pp_instance_destroy(rt, h, inst[i]), PP_OK);
	int32_t out = 0;
	assert_int_equal(pp_call(rt, h, (pp_guest_contract_instance){NULL, 0}, 0, NULL, &out, NULL),
	                 PP_OK);
	assert_int_equal(out, 7);
	pp_runtime_free(rt);
}

static void runaway_recursion_is_a_guest_error(void **state)
{
	(void)state;
	log_capture logs = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pp_runtime *rt = rt_with_log(&logs, PP_LOG_TRACE);
	pp_load_options o = {.name = "recurse", .js = {.stack_bytes = 256u << 10}};
	const char *src = JS_ONE("js.rec", "function f() { return f() + 1; }, " ADD_FN);
	assert_int_equal(pp_bundle_load_source(rt, src, strlen(src), &o, NULL), PP_OK);
	assert_int_equal(js_call(rt, "js.rec", 0, NULL, NULL), PP_ERR_GENERIC);
	assert_contains(logs.last, "InternalError: stack overflow");
	pair p = {1, 1};
	int32_t r = 0;
	assert_int_equal(js_call(rt, "js.rec", 1, &p, &r), PP_OK);
	assert_int_equal(r, 2);
	pp_runtime_free(rt);
}

/* ---- Lifecycle ------------------------------------------------------------- */

static void load_unload_a_thousand_js_bundles_keeps_memory_bounded(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	const char *src = JS_ONE("js.add", ADD_FN);
	long baseline = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t id = js_load_ok(rt, "cycle", src);
		pair p = {i, 1};
		int32_t r = 0;
		assert_int_equal(js_call(rt, "js.add", 0, &p, &r), PP_OK);
		assert_int_equal(r, i + 1);
		assert_int_equal(pp_bundle_unload(rt, id, 0), PP_OK);
		if (i % 100 == 99) {
			assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
			pp_stats st;
			pp_runtime_stats(rt, &st);
			assert_int_equal(st.pending_reclaims, 0);
			if (i == 99)
				baseline = rss_kib();
		}
	}
#if !defined(PP_SANITIZE_ADDRESS) && !defined(PP_SANITIZE_THREAD)
	long growth = rss_kib() - baseline;
	if (growth > 8192)
		fail_msg("RSS grew by %ld KiB over 900 JS load/unload cycles", growth);
#else
	(void)baseline;
#endif
	pp_runtime_free(rt);
}

static void reload_replaces_the_vm_behind_live_handles(void **state)
{
	(void)state;
	char dir[64];
	js_write_dir(dir, sizeof dir,
	             JS_ONE("js.ver", "function (i, a, o, ar, b) { b.writeI32(o, 1); return 0; }"));
	pp_runtime *rt = rt_new();
	uint64_t id = load_ok(rt, dir);
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("js.ver", 1), 0);
	pp_guest_contract_instance none = {NULL, 0}, inst;
	assert_int_equal(pp_instance_create(rt, h, NULL, &inst), PP_OK);
	int32_t v = 0;
	assert_int_equal(pp_call(rt, h, none, 0, NULL, &v, NULL), PP_OK);
	assert_int_equal(v, 1);
	write_text(dir, "bundle.js",
	           JS_ONE("js.ver", "function (i, a, o, ar, b) { b.writeI32(o, 2); return 0; }"));
	assert_int_equal(pp_bundle_reload(rt, id), PP_OK);
	assert_int_equal(pp_call(rt, h, none, 0, NULL, &v, NULL), PP_OK);
	assert_int_equal(v, 2);
	/* a broken new version keeps the old one serving */
	write_text(dir, "bundle.js", "syntax error here(\n");
	assert_int_equal(pp_bundle_reload(rt, id), PP_ERR_LOAD_FAILED);
	assert_int_equal(pp_call(rt, h, none, 0, NULL, &v, NULL), PP_OK);
	assert_int_equal(v, 2);
	assert_int_equal(pp_runtime_quiesce(rt), PP_OK);
	pp_stats st;
	pp_runtime_stats(rt, &st);
	assert_int_equal(st.pending_reclaims, 0); /* the first VM (and its instance) is gone */
	pp_runtime_free(rt);
	remove_tree(dir);
}

static void *own_js_runtime(void *p)
{
	int *ok = p;
	pp_runtime *rt = NULL;
	if (pp_runtime_new(NULL, &rt) != PP_OK)
		return NULL;
	const char *src = JS_ONE("js.add", ADD_FN);
	int good = 0;
	for (int i = 0; i < 20; i++) {
		uint64_t id;
		if (js_load_src(rt, "threaded", src, &id) != PP_OK)
			break;
		pair args = {i, i};
		int32_t r = -1;
		good += js_call(rt, "js.add", 0, &args, &r) == PP_OK && r == 2 * i;
		pp_bundle_unload(rt, id, 0);
	}
	pp_runtime_free(rt);
	*ok = good;
	return NULL;
}

static void loads_on_four_threads_each_with_its_own_runtime(void **state)
{
	(void)state;
	pthread_t t[4];
	int ok[4] = {0, 0, 0, 0};
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, own_js_runtime, &ok[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(ok[i], 20);
	}
}

static void runtimes_on_one_thread_stay_isolated(void **state)
{
	(void)state;
	const char *src = JS_PRELUDE
	        "var n = 0;\n"
	        "function polyplug_init(hl, hh, cl, ch, b) {\n"
	        "  return ok([reg('js.n', [function (i, a, o, ar, bb) { n++; bb.writeI32(o, n);"
	        " return 0; }])]);\n}\n";
	pp_runtime *a = rt_new(), *b = rt_new();
	js_load_ok(a, "iso", src);
	js_load_ok(b, "iso", src);
	int32_t v = 0;
	js_call(a, "js.n", 0, NULL, &v);
	js_call(a, "js.n", 0, NULL, &v);
	assert_int_equal(v, 2);
	js_call(b, "js.n", 0, NULL, &v);
	assert_int_equal(v, 1);
	pp_runtime_free(a);
	js_call(b, "js.n", 0, NULL, &v);
	assert_int_equal(v, 2);
	pp_runtime_free(b);
}

/* ---- Instances -------------------------------------------------------------- */

static const js_contract *js_contract_of(pp_runtime *rt, pp_guest_contract_handle h)
{
	const pp_guest_contract_interface *iface = pp_resolve(rt, h);
	assert_non_null(iface);
	return iface->dispatch.vm.loader_data.data;
}

/* Every destroy left a deleted slot that counted as used until the map
 * grew, and each growth doubled it: the map grew with every instance ever
 * made (dispatchPeer makes and destroys one per call), about 32 bytes each,
 * until unload. It now stays the size of what is alive. */
static void a_contracts_instance_map_stays_the_size_of_its_live_instances(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	js_load_ok(rt, "many", JS_ONE("test.many", "function () { return 0; }"));
	pp_guest_contract_handle h = pp_find(rt, pp_guest_contract_id("test.many", 1), 0);
	const js_contract *c = js_contract_of(rt, h);
	pp_guest_contract_instance x[1000];
	for (int i = 0; i < 100000; i++) {
		assert_int_equal(pp_instance_create(rt, h, NULL, &x[0]), PP_OK);
		assert_int_equal(pp_instance_destroy(rt, h, x[0]), PP_OK);
	}
	assert_true(c->instances.cap <= 64);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(pp_instance_create(rt, h, NULL, &x[i]), PP_OK);
	assert_int_equal(c->instances.live, 1000);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(pp_instance_destroy(rt, h, x[i]), PP_OK);
	for (int i = 0; i < 10000; i++) { /* and it shrinks back */
		assert_int_equal(pp_instance_create(rt, h, NULL, &x[0]), PP_OK);
		assert_int_equal(pp_instance_destroy(rt, h, x[0]), PP_OK);
	}
	assert_true(c->instances.cap <= 64);
	pp_runtime_free(rt);
}

/* test.kill fn 0 (called by B): says B is inside, waits until A's call
 * waits for B's VM, then destroys A's instance (or, with create, makes
 * one). (fn 1 marks A's call under way.) Meanwhile the looks of A's caller
 * (the test's thread, `host`) wait: its wait looks again every 20 ms, and
 * a look that met the destroy's wait would find the cycle first, and
 * refuse A's call instead (on a loaded machine, once in 20 runs). */
static struct {
	pp_runtime *rt;
	pp_guest_contract_handle h;
	pp_guest_contract_instance inst;
	bool create;
	pthread_t host;
	atomic_int a_inside, b_inside, acting;
	_Atomic pp_status destroyed, created;
	uint32_t *late; /* see call_the_destroyed */
} kill_state;

static void kill_mark(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state, (void)args, (void)out, (void)err;
	atomic_store(&kill_state.a_inside, 1);
}

/* Whether a thread of rt other than this one waits for a VM. */
static bool another_waits(pp_runtime *rt)
{
	bool waits = false;
	pthread_mutex_lock(&rt->tstate_lock);
	for (const pp_tstate *ts = rt->tstates; ts; ts = ts->next)
		if (atomic_load(&ts->thread) != pp__thread_id() && atomic_load(&ts->waiting_on))
			waits = true;
	pthread_mutex_unlock(&rt->tstate_lock);
	return waits;
}

static void kill_instance(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state, (void)args, (void)out, (void)err;
	atomic_store(&kill_state.b_inside, 1);
	/* A's call waits for B's VM: seen, not guessed from a sleep (150 ms
	 * once was not enough on a loaded machine, and this destroy's own wait
	 * then came first, so A's call was the one refused); then a moment for
	 * the look its wait began with to end */
	for (int i = 0; i < 3000 && !another_waits(kill_state.rt); i++)
		nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
	atomic_store(&kill_state.acting, 1);
	nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
	if (kill_state.create) {
		atomic_store(&kill_state.created, pp_instance_create(kill_state.rt, kill_state.h,
		                                                     NULL, &kill_state.inst));
		return;
	}
	atomic_store(&kill_state.destroyed,
	             pp_instance_destroy(kill_state.rt, kill_state.h, kill_state.inst));
}

/* Calls the instance destroyed across the cycle as the VM's holder has
 * given the VM back and before it takes it again to free the instance:
 * what another thread's call would do if it took the VM first. Once: that
 * call gives the VM back the same way. */
static void call_the_destroyed(uint32_t *late)
{
	if (*late != 12345)
		return;
	*late = 0; /* the call's own give comes here too */
	*late = pp_call(kill_state.rt, kill_state.h, kill_state.inst, 0, NULL, &(int32_t){0}, NULL);
}

/* The runtime's look hook around the cycle (see kill_state). */
static int around_the_cycle(void *ud, int stage)
{
	(void)ud;
	if (stage == PP_LOOK_BEGINS && pthread_equal(pthread_self(), kill_state.host) &&
	    atomic_load(&kill_state.acting))
		for (int ms = 0; ms < 30000 && atomic_load(&kill_state.destroyed) == 12345 &&
		                 atomic_load(&kill_state.created) == 12345;
		     ms++)
			nanosleep(&(struct timespec){0, 1000000L}, NULL);
	if (stage == PP_LOOK_LATER_GIVEN && kill_state.late)
		call_the_destroyed(kill_state.late);
	return 0;
}

static void *call_b(void *p)
{
	pp_runtime *rt = p;
	int32_t out = 0;
	js_call(rt, "test.cb", 0, NULL, &out);
	return NULL;
}

/* Registers name@1, a singleton host contract of n native functions, in
 * *iface (the caller's, static: it stays registered). */
static void host_functions(pp_runtime *rt, pp_host_contract_interface *iface, const char *name,
                           const void *const *fns, uint32_t n)
{
	*iface = (pp_host_contract_interface){
	        .size = sizeof *iface,
	        .contract_id = pp_host_contract_id(name, 1),
	        .contract_version = {1, 0, 0},
	        .flags = PP_HOST_CONTRACT_SINGLETON,
	        .dispatch_type = PP_DISPATCH_NATIVE,
	        .create_instance = latch_instance,
	        .destroy_instance = drop_instance,
	        .dispatch.native = {n, fns},
	};
	assert_int_equal(pp_host_contract_register(rt, iface), PP_OK);
}

/* Bundles A (test.ca, of `vms` VMs) and B (test.cb): A's function 0 marks
 * itself inside, then calls B's function 1; B's function 0 calls test.kill
 * fn 0, which acts on A while A's caller waits for B's VM. */
static pp_runtime *bundles_around_a_cycle(uint32_t vms, bool create)
{
	pp_runtime *rt = rt_new();
	static const void *const fns[] = {(const void *)kill_instance, (const void *)kill_mark};
	static pp_host_contract_interface kill;
	host_functions(rt, &kill, "test.kill", fns, 2);
	static const char ca[] =
	        JS_PRELUDE "var k = cid('host_contract:test.kill@1');\n"
	                   "function polyplug_init() {\n"
	                   "  var r = reg('test.ca', [function (i, a, o, ar, b) {\n"
	                   "    b.callHostContract(k[0], k[1], 0x10000, 1, 0, 0);\n"
	                   "    var id = cid('guest_contract:test.cb@1');\n"
	                   "    return b.dispatchPeer(id[0], id[1], 0x10000, 1, 0, 0); }]);\n"
	                   "  r.interface.factory = function () { return {}; };\n"
	                   "  return ok([r]);\n}\n";
	pp_load_options o = {.name = "ca", .js.concurrency = vms};
	assert_int_equal(pp_bundle_load_source(rt, ca, strlen(ca), &o, NULL), PP_OK);
	js_load_ok(rt, "cb",
	           JS_PRELUDE "var k = cid('host_contract:test.kill@1');\n"
	                      "function polyplug_init() {\n"
	                      "  return ok([reg('test.cb', [function (i, a, o, ar, b) {\n"
	                      "    return b.callHostContract(k[0], k[1], 0x10000, 0, 0, 0); },\n"
	                      "    function () { return 0; }])]);\n}\n");
	kill_state.rt = rt;
	kill_state.h = pp_find(rt, pp_guest_contract_id("test.ca", 1), 0);
	kill_state.create = create;
	kill_state.host = pthread_self();
	kill_state.late = NULL;
	atomic_store(&kill_state.acting, 0);
	rt->look_hook = around_the_cycle;
	atomic_store(&kill_state.a_inside, 0);
	atomic_store(&kill_state.b_inside, 0);
	atomic_store(&kill_state.destroyed, 12345);
	atomic_store(&kill_state.created, 12345);
	return rt;
}

/* B's thread destroys an instance of A (a bundle of `vms` VMs; the
 * instance on the last) while A's VM is held by a thread waiting for B's:
 * waiting for A's VM would close a cycle. The destroy was dropped (the host
 * heard PP_OK, the runtime forgot the instance, and A kept it, with its
 * memory, until unload). It is left to the VM, whose holder does it as it
 * gives the VM back: also a VM of a pool that no call may enter again. */
static void destroy_across_a_cycle(uint32_t vms)
{
	pp_runtime *rt = bundles_around_a_cycle(vms, false);
	const js_contract *first = js_contract_of(rt, kill_state.h);
	const js_contract *c = &first->pool->vms[vms - 1].vm.contracts[first->slot];
	pp_guest_contract_instance on[2]; /* creates take the VMs in turn */
	for (uint32_t i = 0; i < vms; i++)
		assert_int_equal(pp_instance_create(rt, kill_state.h, NULL, &on[i]), PP_OK);
	kill_state.inst = on[vms - 1];
	assert_int_equal(c->instances.live, 1);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, call_b, rt), 0);
	await_true(atomic_load(&kill_state.b_inside), 30);
	uint32_t code = pp_call(rt, kill_state.h, kill_state.inst, 0, NULL, &(int32_t){0}, NULL);
	pthread_join(t, NULL);
	assert_int_equal(code, PP_OK); /* its call into B waited, then ran */
	assert_int_equal(atomic_load(&kill_state.destroyed), PP_OK);
	assert_int_equal(c->instances.live, 0); /* done as the VM was given back */
	assert_int_equal(pp_call(rt, kill_state.h, kill_state.inst, 0, NULL, &(int32_t){0}, NULL),
	                 PP_ERR_STALE_INSTANCE);
	pp_runtime_free(rt);
}

static void a_destroy_that_cannot_wait_for_its_vm_is_done_when_the_vm_is_given_back(void **state)
{
	(void)state;
	destroy_across_a_cycle(1);
	destroy_across_a_cycle(2);
}

/* An instance destroyed while its VM could not be waited for stays in its
 * contract's map until the VM's holder frees it; a call that takes the VM
 * first must not run on it. The JS loader's own lookup is the only check
 * such a call meets (pp_call leaves instances to the loader that checks
 * them), so it refuses the instance as pp_call would:
 * PP_ERR_STALE_INSTANCE, nothing run. */
static void a_destroyed_instance_waiting_to_be_freed_is_refused_to_a_call(void **state)
{
	(void)state;
	pp_runtime *rt = bundles_around_a_cycle(1, false);
	const js_contract *c = js_contract_of(rt, kill_state.h);
	assert_int_equal(pp_instance_create(rt, kill_state.h, NULL, &kill_state.inst), PP_OK);
	uint32_t late = 12345;
	kill_state.late = &late;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, call_b, rt), 0);
	await_true(atomic_load(&kill_state.b_inside), 30);
	uint32_t code = pp_call(rt, kill_state.h, kill_state.inst, 0, NULL, &(int32_t){0}, NULL);
	pthread_join(t, NULL);
	kill_state.late = NULL;
	assert_int_equal(code, PP_OK);
	assert_int_equal(atomic_load(&kill_state.destroyed), PP_OK);
	assert_int_equal(late, PP_ERR_STALE_INSTANCE);
	assert_contains(pp_last_error(rt), "was not made by this version of the bundle, or was "
	                                   "destroyed");
	assert_int_equal(c->instances.live, 0); /* then freed, once */
	pp_runtime_free(rt);
}

/* test.recall fn 0 (called by test.sc's function 0, inside its VM): first
 * destroys `kill` when set, then calls `target` (fn 1) as the host would
 * from inside, keeping the status. */
static struct {
	pp_runtime *rt;
	pp_guest_contract_handle h;
	pp_guest_contract_instance kill, target;
	uint32_t got;
} recall;

static void recall_call(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state, (void)args, (void)out, (void)err;
	if (recall.kill.data)
		assert_int_equal(pp_instance_destroy(recall.rt, recall.h, recall.kill), PP_OK);
	recall.got = pp_call(recall.rt, recall.h, recall.target, 1, NULL, NULL, NULL);
}

/* A call from inside a VM on an instance of that VM is refused as
 * reentrant, and was refused as stale when pp_call looked the instance up
 * itself: for one the version destroyed (or never made), it still is, as
 * the promise says. The thread holds the VM, so the loader can tell. */
static void a_destroyed_instance_called_from_inside_its_vm_is_stale_not_reentrant(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const void *const fns[] = {(const void *)recall_call};
	static pp_host_contract_interface hc;
	host_functions(rt, &hc, "test.recall", fns, 1);
	js_load_ok(rt, "sc",
	           JS_PRELUDE "var k = cid('host_contract:test.recall@1');\n"
	                      "function polyplug_init() {\n"
	                      "  return ok([reg('test.sc', [function (i, a, o, ar, b) {\n"
	                      "    return b.callHostContract(k[0], k[1], 0x10000, 0, 0, 0); },\n"
	                      "    function (i) { i.n++; return 0; }])]);\n}\n");
	recall.rt = rt;
	recall.h = pp_find(rt, pp_guest_contract_id("test.sc", 1), 0);
	pp_guest_contract_instance none = {NULL, 0}, live, dead;
	assert_int_equal(pp_instance_create(rt, recall.h, NULL, &live), PP_OK);
	assert_int_equal(pp_instance_create(rt, recall.h, NULL, &dead), PP_OK);
	assert_int_equal(pp_instance_destroy(rt, recall.h, dead), PP_OK);
	struct {
		pp_guest_contract_instance on, kill, target;
		uint32_t want;
	} cases[] = {
	        {none, {NULL, 0}, live, PP_ERR_REENTRANT_CALL}, /* live: it would re-enter */
	        {none, {NULL, 0}, dead, PP_ERR_STALE_INSTANCE},
	        {live, {NULL, 0}, dead, PP_ERR_STALE_INSTANCE},
	        {none, {NULL, 0}, {(void *)(uintptr_t)0x1234, 0}, PP_ERR_STALE_INSTANCE},
	        {live, live, live, PP_ERR_STALE_INSTANCE}, /* destroyed by its own call */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		recall.kill = cases[i].kill;
		recall.target = cases[i].target;
		recall.got = 12345;
		assert_int_equal(pp_call(rt, recall.h, cases[i].on, 0, NULL, NULL, NULL), PP_OK);
		assert_int_equal(recall.got, cases[i].want);
	}
	assert_int_equal(pp_call(rt, recall.h, live, 1, NULL, NULL, NULL), PP_ERR_STALE_INSTANCE);
	pp_runtime_free(rt);
}

/* A create whose factory would wait for a VM held by a thread that waits
 * for the creating thread's is refused with PP_ERR_REENTRANT_CALL, as a
 * call closing the cycle is (js.md, Threads: "a factory refuses the same
 * way"); the caller holding the VM goes on, and no instance is left (A's
 * caller's looks wait meanwhile: kill_state). */
static void a_create_that_would_close_a_wait_cycle_is_refused(void **state)
{
	(void)state;
	pp_runtime *rt = bundles_around_a_cycle(1, true);
	const js_contract *c = js_contract_of(rt, kill_state.h);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, call_b, rt), 0);
	await_true(atomic_load(&kill_state.b_inside), 30);
	pp_guest_contract_instance none = {NULL, 0};
	uint32_t code = pp_call(rt, kill_state.h, none, 0, NULL, &(int32_t){0}, NULL);
	pthread_join(t, NULL);
	assert_int_equal(code, PP_OK); /* its call into B waited, then ran */
	assert_int_equal(atomic_load(&kill_state.created), PP_ERR_REENTRANT_CALL);
	assert_int_equal(c->instances.live, 0);
	pp_runtime_free(rt);
}

/* test.meet fn k (called from bundle x for k 0, y for k 1): once both
 * threads are inside their bundles, calls the other bundle's fn 1 from
 * host code, straight into a wait for its VM (a peer call would make an
 * instance first, whose own refusal falls back), and keeps its status. */
static pthread_barrier_t both_inside;
static atomic_int looks_begun, looks_refusing;
static _Atomic uint32_t meet_codes[2];
static pp_runtime *meet_rt;

static void meet(uint32_t k)
{
	pthread_barrier_wait(&both_inside);
	int32_t out = 0;
	atomic_store(&meet_codes[k], js_call(meet_rt, k ? "test.x" : "test.y", 1, NULL, &out));
}

static void meet_x(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state, (void)args, (void)out, (void)err;
	meet(0);
}

static void meet_y(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state, (void)args, (void)out, (void)err;
	meet(1);
}

/* Two threads' first looks begin together, each having published its
 * wait, and the first look to refuse waits (up to 200 ms) for a second
 * before it does: were looks to overlap, the second would read the first's
 * wait as still there, and refuse too. */
static void look_meet(atomic_int *count)
{
	if (atomic_fetch_add(count, 1) >= 2)
		return;
	for (int ms = 0; ms < 200 && atomic_load(count) < 2; ms++)
		nanosleep(&(struct timespec){0, 1000000L}, NULL);
}

static int look_together(void *ud, int stage)
{
	(void)ud;
	if (stage == PP_LOOK_BEGINS)
		look_meet(&looks_begun);
	else if (stage == PP_LOOK_REFUSES)
		look_meet(&looks_refusing);
	return 0;
}

static void *call_x(void *p)
{
	int32_t out = 0;
	return (void *)(uintptr_t)js_call(p, "test.x", 0, NULL, &out);
}

/* Two threads close a cycle together, each inside its own bundle calling
 * the other's, and both look at the same moment: exactly one is refused
 * (looks take turns, and a refused thread's wait is withdrawn before the
 * next, which finds it going on); the other's call then goes through. */
static void two_threads_closing_a_cycle_together_see_one_of_them_refused(void **state)
{
	(void)state;
	pp_runtime *rt = rt_new();
	static const void *const fns[] = {(const void *)meet_x, (const void *)meet_y};
	static pp_host_contract_interface meeting;
	host_functions(rt, &meeting, "test.meet", fns, 2);
#define JS_MEET(self, k)                                                                   \
	JS_PRELUDE "var m = cid('host_contract:test.meet@1');\n"                           \
	           "function polyplug_init() {\n"                                          \
	           "  return ok([reg('" self "', [function (i, a, o, ar, b) {\n"           \
	           "    return b.callHostContract(m[0], m[1], 0x10000, " k ", 0, 0); },\n" \
	           "    function () { return 0; }])]);\n}\n"
	js_load_ok(rt, "x", JS_MEET("test.x", "0"));
	js_load_ok(rt, "y", JS_MEET("test.y", "1"));
#undef JS_MEET
	meet_rt = rt;
	pthread_barrier_init(&both_inside, NULL, 2);
	atomic_store(&looks_begun, 0);
	atomic_store(&looks_refusing, 0);
	rt->look_hook = look_together;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, call_x, rt), 0);
	int32_t out = 0;
	assert_int_equal(js_call(rt, "test.y", 0, NULL, &out), PP_OK);
	void *x;
	pthread_join(t, &x);
	rt->look_hook = NULL;
	pthread_barrier_destroy(&both_inside);
	assert_int_equal((uint32_t)(uintptr_t)x, PP_OK);
	uint32_t a = atomic_load(&meet_codes[0]), b = atomic_load(&meet_codes[1]);
	if (!((a == PP_OK && b == PP_ERR_REENTRANT_CALL) ||
	      (a == PP_ERR_REENTRANT_CALL && b == PP_OK)))
		fail_msg("x's call into y: %u, y's into x: %u; want one refused, the other through",
		         a, b);
	pp_runtime_free(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(peers_call_across_languages),
	        cmocka_unit_test(js_calls_native_contracts_with_bounds_checks),
	        cmocka_unit_test(calling_into_the_same_vm_is_reentrant_and_recovers),
	        cmocka_unit_test(js_calls_host_contracts),
	        cmocka_unit_test(a_second_thread_waits_for_the_vm_then_succeeds),
	        cmocka_unit_test(a_waiter_barred_from_membarrier_still_gets_the_vm),
	        cmocka_unit_test(different_bundles_run_in_parallel),
	        cmocka_unit_test(calls_from_other_threads_get_their_own_stack),
	        cmocka_unit_test(endless_loop_times_out_and_the_vm_still_works),
	        cmocka_unit_test(the_cpu_limit_stops_calls_inside_builtins),
	        cmocka_unit_test(a_shorter_cpu_limit_loaded_later_is_enforced_at_its_own_pace),
	        cmocka_unit_test(allocation_bomb_fails_the_call_not_the_process),
	        cmocka_unit_test(text_conversion_copies_count_against_the_memory_limit),
	        cmocka_unit_test(instances_count_against_the_memory_limit),
	        cmocka_unit_test(runaway_recursion_is_a_guest_error),
	        cmocka_unit_test(load_unload_a_thousand_js_bundles_keeps_memory_bounded),
	        cmocka_unit_test(reload_replaces_the_vm_behind_live_handles),
	        cmocka_unit_test(loads_on_four_threads_each_with_its_own_runtime),
	        cmocka_unit_test(runtimes_on_one_thread_stay_isolated),
	        cmocka_unit_test(a_contracts_instance_map_stays_the_size_of_its_live_instances),
	        cmocka_unit_test(
	                a_destroy_that_cannot_wait_for_its_vm_is_done_when_the_vm_is_given_back),
	        cmocka_unit_test(a_create_that_would_close_a_wait_cycle_is_refused),
	        cmocka_unit_test(a_destroyed_instance_waiting_to_be_freed_is_refused_to_a_call),
	        cmocka_unit_test(two_threads_closing_a_cycle_together_see_one_of_them_refused),
	        cmocka_unit_test(
	                a_destroyed_instance_called_from_inside_its_vm_is_stale_not_reentrant),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
