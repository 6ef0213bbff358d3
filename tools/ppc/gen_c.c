/*
 * gen_c.c — the C header ppc writes for a contract file: types, ids and
 * layouts (checked by static assertions), the guest-side skeleton, typed
 * host-contract callers for plugins, and typed guest-contract callers for
 * hosts. See docs/contracts.md for how each part is used.
 */
#include <stdio.h>
#include <string.h>

#include "gen.h"
#include "polyplug/abi.h"

static const char *c_scalar(ppc_kind k)
{
	static const char *const names[] = {
	        [PPC_VOID] = "void",
	        [PPC_BOOL] = "bool",
	        [PPC_I8] = "int8_t",
	        [PPC_U8] = "uint8_t",
	        [PPC_I16] = "int16_t",
	        [PPC_U16] = "uint16_t",
	        [PPC_I32] = "int32_t",
	        [PPC_U32] = "uint32_t",
	        [PPC_I64] = "int64_t",
	        [PPC_U64] = "uint64_t",
	        [PPC_F32] = "float",
	        [PPC_F64] = "double",
	        [PPC_STRING] = "pp_string_view",
	        [PPC_BUFFER] = "pp_string_view",
	};
	return names[k];
}

static const char *c_type(ppc_type t)
{
	return t.kind == PPC_ENUM     ? t.en->name
	       : t.kind == PPC_STRUCT ? t.st->name
	                              : c_scalar(t.kind);
}

static void params_decl(FILE *f, const ppc_function *fn)
{
	for (size_t i = 0; i < fn->param_count; i++)
		fprintf(f, ", %s %s", c_type(fn->params[i].type), fn->params[i].name);
}

static void types(FILE *f, const ppc_model *m)
{
	for (size_t i = 0; i < m->enum_count; i++) {
		const ppc_enum *e = &m->enums[i];
		fputc('\n', f);
		ppc_comment(f, "", "/*", e->docs);
		fprintf(f, "typedef %s %s;\nenum {\n", c_scalar(e->repr), e->name);
		for (size_t j = 0; j < e->variant_count; j++) {
			ppc_comment(f, "\t", "/*", e->variants[j].docs);
			/* neither literal is one C has: -9223372036854775808 is the
			 * negation of an unsigned constant, a u64 past INT64_MAX is one */
			int64_t v = e->variants[j].value;
			char text[32];
			ppc_value_text(e, v, text, sizeof text);
			if (e->repr == PPC_I64 && v == INT64_MIN)
				snprintf(text, sizeof text, "(-9223372036854775807 - 1)");
			fprintf(f, "\t%s_%s = %s%s%s,\n", e->name, e->variants[j].name,
			        e->repr == PPC_U64 && v < 0 ? "UINT64_C(" : "", text,
			        e->repr == PPC_U64 && v < 0 ? ")" : "");
		}
		fputs("};\n", f);
	}
	for (size_t i = 0; i < m->struct_count; i++) {
		const ppc_struct *s = &m->structs[i];
		fputc('\n', f);
		ppc_comment(f, "", "/*", s->docs);
		fprintf(f, "typedef struct %s {\n", s->name);
		for (size_t j = 0; j < s->field_count; j++) {
			ppc_comment(f, "\t", "/*", s->fields[j].docs);
			fprintf(f, "\t%s %s;\n", c_type(s->fields[j].type), s->fields[j].name);
		}
		fprintf(f, "} %s;\n", s->name);
		fprintf(f, "_Static_assert(sizeof(%s) == %zu, \"ppc layout of %s\");\n", s->name,
		        s->size, s->name);
		for (size_t j = 0; j < s->field_count; j++)
			fprintf(f, "_Static_assert(offsetof(%s, %s) == %zu, \"ppc layout\");\n",
			        s->name, s->fields[j].name, s->fields[j].offset);
	}
}

/* ids, function ids and the args structs of one contract */
static void contract_layout(FILE *f, const ppc_contract *c, const char *id, const char *ID)
{
	fprintf(f, "\n/* ---- %s %s@%u (%u.%u.%u) ", c->host ? "host contract" : "contract",
	        c->name, c->major, c->major, c->minor, c->patch);
	for (size_t n = strlen(c->name); n < 40; n++)
		fputc('-', f);
	fputs(" */\n", f);
	ppc_comment(f, "", "/*", c->docs);
	fprintf(f, "#define %s_NAME \"%s\"\n", ID, c->name);
	fprintf(f, "#define %s_ID UINT64_C(0x%016llx) /* %s_contract_id(\"%s\", %u) */\n", ID,
	        (unsigned long long)c->id, c->host ? "pp_host" : "pp_guest", c->name, c->major);
	fprintf(f, "#define %s_VERSION_MAJOR %u\n#define %s_VERSION_MINOR %u\n", ID, c->major, ID,
	        c->minor);
	fprintf(f, "#define %s_VERSION_PATCH %u\n", ID, c->patch);
	fprintf(f, "enum {\n");
	for (size_t i = 0; i < c->function_count; i++) {
		char FN[128];
		ppc_c_upper(c->functions[i].name, FN, sizeof FN);
		fprintf(f, "\t%s_FN_%s = %zu,\n", ID, FN, i);
	}
	fprintf(f, "\t%s_FUNCTION_COUNT = %zu\n};\n", ID, c->function_count);
	for (size_t i = 0; i < c->function_count; i++) {
		const ppc_function *fn = &c->functions[i];
		fputc('\n', f);
		ppc_comment(f, "", "/*", fn->docs);
		fprintf(f, "typedef struct %s_%s_args {\n", id, fn->name);
		for (size_t j = 0; j < fn->param_count; j++) {
			ppc_comment(f, "\t", "/*", fn->params[j].docs);
			fprintf(f, "\t%s %s;\n", c_type(fn->params[j].type), fn->params[j].name);
		}
		if (fn->needs_arena)
			fputs("\tpp_call_arena *arena; /* where the result's bytes go */\n", f);
		if (!fn->param_count && !fn->needs_arena)
			fputs("\tuint8_t unused_; /* no params: args may be NULL */\n", f);
		fprintf(f, "} %s_%s_args;\n", id, fn->name);
		if (fn->param_count || fn->needs_arena)
			fprintf(f, "_Static_assert(sizeof(%s_%s_args) == %zu, \"ppc layout\");\n",
			        id, fn->name, fn->args_size);
	}
}

#define OUT_VIEW (SIZE_MAX ^ (SIZE_MAX >> 1)) /* marks a result's view in fn_views' list */

/* The view offsets of fn's layout: its args' StringView/Buffer members
 * (what the callee follows), then its result's (bytes the callee gives the
 * caller), marked OUT_VIEW; one past PP_MAX_LAYOUT_VIEWS at most are kept.
 * Returns how many there are. */
static size_t fn_views(const ppc_function *fn, size_t offs[PP_MAX_LAYOUT_VIEWS + 1])
{
	size_t n = 0;
	for (size_t j = 0; j < fn->param_count; j++)
		n = ppc_views(fn->params[j].type, fn->params[j].offset, offs, n,
		              PP_MAX_LAYOUT_VIEWS + 1);
	size_t first_out = n;
	n = ppc_views(fn->result, 0, offs, n, PP_MAX_LAYOUT_VIEWS + 1);
	for (size_t k = first_out; k < n && k <= PP_MAX_LAYOUT_VIEWS; k++)
		offs[k] |= OUT_VIEW;
	return n;
}

/* Each function's layout: its args and out sizes, its views and its arena
 * member, as ppc__ID_layouts[]. */
static void layouts_table(FILE *f, const ppc_contract *c, const char *id)
{
	/* guarded: a translation unit may be both a host and an implementation */
	fprintf(f, "#ifndef PPC_LAYOUTS_%s_\n#define PPC_LAYOUTS_%s_\n", id, id);
	size_t offs[PP_MAX_LAYOUT_VIEWS + 1];
	for (size_t i = 0; i < c->function_count; i++) {
		const ppc_function *fn = &c->functions[i];
		size_t n = fn_views(fn, offs);
		if (n > PP_MAX_LAYOUT_VIEWS)
			fprintf(f,
			        "#error \"ppc: %s.%s has more than %u StringView/Buffer "
			        "members\"\n",
			        c->name, fn->name, PP_MAX_LAYOUT_VIEWS);
		if (!n || n > PP_MAX_LAYOUT_VIEWS)
			continue;
		fprintf(f, "static const uint32_t ppc__%s_%s_views[] = {", id, fn->name);
		for (size_t k = 0; k < n; k++)
			fprintf(f, "%s%s%zu", k ? ", " : "",
			        offs[k] & OUT_VIEW ? "PP_LAYOUT_OUT_VIEW | " : "",
			        offs[k] & ~OUT_VIEW);
		fputs("};\n", f);
	}
	fprintf(f, "static const pp_fn_layout ppc__%s_layouts[] = {\n", id);
	for (size_t i = 0; i < c->function_count; i++) {
		const ppc_function *fn = &c->functions[i];
		size_t n = fn_views(fn, offs);
		char arena[32];
		if (fn->needs_arena)
			snprintf(arena, sizeof arena, "%zu", fn->arena_offset);
		else
			snprintf(arena, sizeof arena, "PP_LAYOUT_NO_ARENA");
		fprintf(f, "        {%zu, %zu, %s, %zu, ", fn->args_size,
		        fn->result.kind == PPC_VOID ? (size_t)0 : ppc_type_size(fn->result), arena,
		        n);
		if (n)
			fprintf(f, "ppc__%s_%s_views},\n", id, fn->name);
		else
			fputs("NULL},\n", f);
	}
	fputs("};\n#endif\n", f);
}

/* Plugins implement <id>_<fn>_impl; the thunks, the interface and
 * polyplug_init come with PPC_IMPLEMENT_<ID>. */
static void guest_skeleton(FILE *f, const ppc_contract *c, const char *id, const char *ID)
{
	fprintf(f, "\n/* What a bundle providing %s writes (see docs/contracts.md). */\n", c->name);
	for (size_t i = 0; i < c->function_count; i++) {
		const ppc_function *fn = &c->functions[i];
		fprintf(f, "uint32_t %s_%s_impl(ppc_ctx *ppc_ctx_", id, fn->name);
		params_decl(f, fn);
		if (fn->result.kind != PPC_VOID)
			fprintf(f, ", %s *ppc_result_", c_type(fn->result));
		fputs(");\n", f);
	}
	fprintf(f, "#ifdef %s_STATEFUL\n", ID);
	fprintf(f, "void *%s_create(ppc_ctx *ppc_ctx_, const void *ppc_args_);\n", id);
	fprintf(f, "void %s_destroy(ppc_ctx *ppc_ctx_, void *ppc_self_);\n#endif\n", id);

	fprintf(f, "\n#ifdef PPC_IMPLEMENT_%s\n", ID);
	for (size_t i = 0; i < c->function_count; i++) {
		const ppc_function *fn = &c->functions[i];
		fprintf(f,
		        "static void ppc__%s_%s(pp_guest_contract_instance ppc_self_, const void "
		        "*ppc_args_, "
		        "void *ppc_out_,\n                  pp_abi_error *ppc_err_)\n{\n",
		        id, fn->name);
		if (fn->param_count || fn->needs_arena) {
			fprintf(f, "\tconst %s_%s_args *ppc_a_ = (const %s_%s_args *)ppc_args_;\n",
			        id, fn->name, id, fn->name);
			fprintf(f, "\tif (!ppc_a_) {\n\t\tppc_err_->code = "
			           "PP_ERR_INVALID_POINTER;\n\t\treturn;\n\t}\n");
		} else {
			fputs("\t(void)ppc_args_;\n", f);
		}
		if (fn->result.kind != PPC_VOID)
			fprintf(f, "\tif (!ppc_out_) {\n\t\tppc_err_->code = "
			           "PP_ERR_INVALID_POINTER;\n\t\treturn;\n\t}\n");
		else
			fputs("\t(void)ppc_out_;\n", f);
		fprintf(f, "\tppc_ctx ppc_ctx_ = {ppc__host, ppc_self_.data, %s};\n",
		        fn->needs_arena ? "ppc_a_->arena" : "NULL");
		fprintf(f, "\tppc_err_->code = %s_%s_impl(&ppc_ctx_", id, fn->name);
		for (size_t j = 0; j < fn->param_count; j++)
			fprintf(f, ", ppc_a_->%s", fn->params[j].name);
		if (fn->result.kind != PPC_VOID)
			fprintf(f, ", (%s *)ppc_out_", c_type(fn->result));
		fputs(");\n}\n", f);
	}
	fprintf(f, "static const void *const ppc__%s_functions[] = {\n", id);
	for (size_t i = 0; i < c->function_count; i++)
		fprintf(f, "        (const void *)ppc__%s_%s,\n", id, c->functions[i].name);
	fputs("};\n", f);
	layouts_table(f, c, id);
	fprintf(f,
	        "static void ppc__%s_create(pp_vm_loader_data ld, const pp_host_api *h, const void "
	        "*args,\n                  pp_guest_contract_instance *out, pp_abi_error *err)\n{\n"
	        "\t(void)ld;\n\tout->contract_id = %s_ID;\n"
	        "#ifdef %s_STATEFUL\n\tppc_ctx ctx = {h, NULL, NULL};\n"
	        "\tout->data = %s_create(&ctx, args);\n"
	        "\tif (!out->data) {\n\t\terr->code = PP_ERR_GENERIC;\n"
	        "\t\terr->message = PP_SV(\"%s_create returned NULL\");\n\t}\n"
	        "#else\n\t(void)h;\n\t(void)args;\n\t(void)err;\n"
	        "\tout->data = NULL;\n#endif\n}\n",
	        id, ID, ID, id, id);
	fprintf(f,
	        "static void ppc__%s_destroy(pp_vm_loader_data ld, const pp_host_api *h,\n"
	        "                  pp_guest_contract_instance inst)\n{\n\t(void)ld;\n"
	        "#ifdef %s_STATEFUL\n\tppc_ctx ctx = {h, inst.data, NULL};\n"
	        "\tif (inst.data)\n\t\t%s_destroy(&ctx, inst.data);\n#else\n\t(void)h;\n"
	        "\t(void)inst;\n#endif\n}\n",
	        id, ID, id);
	fprintf(f,
	        "static pp_abi_error ppc__%s_register(const pp_host_api *h)\n{\n"
	        "\tpp_guest_contract_interface iface;\n\tmemset(&iface, 0, sizeof iface);\n"
	        "\tiface.size = (uint32_t)sizeof iface;\n"
	        "\tiface.contract_id = %s_ID;\n\tiface.contract_version.major = %u;\n"
	        "\tiface.contract_version.minor = %u;\n\tiface.contract_version.patch = %u;\n"
	        "\tiface.dispatch_type = PP_DISPATCH_NATIVE;\n"
	        "\tiface.create_instance = ppc__%s_create;\n"
	        "\tiface.destroy_instance = ppc__%s_destroy;\n"
	        "\tiface.dispatch.native.function_count = %s_FUNCTION_COUNT;\n"
	        "\tiface.dispatch.native.functions = ppc__%s_functions;\n"
	        "\tiface.layouts = ppc__%s_layouts;\n"
	        "\tpp_plugin_descriptor d = {PP_SV(PPC_BUNDLE_NAME), PP_SV(\"%s@%u\"), {%u, %u, "
	        "%u}};\n"
	        "\tpp_abi_error err = {PP_OK, {NULL, 0}};\n"
	        "\th->register_guest_contract(h, &d, &iface, &err);\n\treturn err;\n}\n"
	        "#endif\n",
	        id, ID, c->major, c->minor, c->patch, id, id, ID, id, id, c->name, c->major,
	        c->major, c->minor, c->patch);
}

/* The head and body shared by every typed caller: its signature (`storage`,
 * first param `first`, then the function's params, an arena if its result
 * needs one, and a result pointer) and the filling of the args struct. The
 * caller writes the return statement. */
static void caller_start(FILE *f, const char *storage, const char *name, const char *first,
                         const char *id, const ppc_function *fn)
{
	fprintf(f, "%s uint32_t %s(%s", storage, name, first);
	params_decl(f, fn);
	if (fn->needs_arena)
		fputs(", pp_call_arena *ppc_arena_", f);
	if (fn->result.kind != PPC_VOID)
		fprintf(f, ", %s *ppc_result_", c_type(fn->result));
	fputs(")\n{\n", f);
	fprintf(f, "\t%s_%s_args ppc_a_;\n\tmemset(&ppc_a_, 0, sizeof ppc_a_);\n", id, fn->name);
	for (size_t j = 0; j < fn->param_count; j++)
		fprintf(f, "\tppc_a_.%s = %s;\n", fn->params[j].name, fn->params[j].name);
	if (fn->needs_arena)
		fputs("\tppc_a_.arena = ppc_arena_;\n", f);
}

static const char *result_arg(const ppc_function *fn)
{
	return fn->result.kind != PPC_VOID ? "ppc_result_" : "NULL";
}

static const char *arena_arg(const ppc_function *fn)
{
	return fn->needs_arena ? "ppc_arena_" : "NULL";
}

/* Typed callers of a host contract, for plugins (through the host table). */
static void host_callers(FILE *f, const ppc_contract *c, const char *id, const char *ID)
{
	fprintf(f, "\n/* Calling host contract %s from a plugin: %s_<fn>(host, ...). */\n", c->name,
	        id);
	for (size_t i = 0; i < c->function_count; i++) {
		const ppc_function *fn = &c->functions[i];
		char FN[128], name[320];
		ppc_c_upper(fn->name, FN, sizeof FN);
		snprintf(name, sizeof name, "%s_%s", id, fn->name);
		ppc_comment(f, "", "/*", fn->docs);
		caller_start(f, "static inline", name, "const pp_host_api *ppc_host_", id, fn);
		fprintf(f,
		        "\treturn ppc_call_host(ppc_host_, %s_ID, ((uint32_t)%s_VERSION_MAJOR << "
		        "16) | "
		        "%s_VERSION_MINOR, %s_FN_%s, &ppc_a_, %s);\n}\n",
		        ID, ID, ID, ID, FN, result_arg(fn));
	}
}

/* Typed callers of a guest contract, for plugins calling peers (through the
 * host table; the call a plugin runs in keeps the peer's code alive). */
static void peer_callers(FILE *f, const ppc_contract *c, const char *id, const char *ID)
{
	fprintf(f, "\n/* Calling %s from a plugin: %s_peer_<fn>(host, ...). */\n", c->name, id);
	for (size_t i = 0; i < c->function_count; i++) {
		const ppc_function *fn = &c->functions[i];
		char FN[128], name[320];
		ppc_c_upper(fn->name, FN, sizeof FN);
		snprintf(name, sizeof name, "%s_peer_%s", id, fn->name);
		caller_start(f, "static inline", name, "const pp_host_api *ppc_host_", id, fn);
		fprintf(f,
		        "\treturn ppc_call_peer(ppc_host_, %s_ID, %s_VERSION_MAJOR, %s_FN_%s, "
		        "&ppc_a_, %s, %s);\n}\n",
		        ID, ID, ID, FN, result_arg(fn), arena_arg(fn));
	}
}

/* Typed callers of a guest contract, for hosts: a handle that finds the
 * contract, keeps an instance, and starts over when the runtime's revision
 * counter says bundles changed; and the declaration of its layouts, which
 * a guarded JS provider is held to. */
static void guest_callers(FILE *f, const ppc_contract *c, const char *id, const char *ID)
{
	layouts_table(f, c, id);
	fprintf(f,
	        "/* Declares %s's layouts to rt: call before loading its providers. */\n"
	        "static inline pp_status %s_declare(pp_runtime *rt)\n{\n"
	        "\treturn pp_contract_declare_layouts(rt, %s_ID, ppc__%s_layouts,\n"
	        "\t                                   %s_FUNCTION_COUNT);\n}\n",
	        c->name, id, ID, id, ID);
	fprintf(f,
	        "\n/* Calling %s from a host: %s c; %s_open(&c, rt); %s_<fn>(&c, ...);\n"
	        " * %s_close(&c). open takes the first provider; open_in the one from the\n"
	        " * bundle named `bundle` (borrowed: it must outlive c). When none is\n"
	        " * loaded, pp_last_error says what is. */\n",
	        c->name, id, id, id, id);
	fprintf(f, "typedef struct %s {\n\tppc_caller base;\n} %s;\n", id, id);
	fprintf(f,
	        "static inline pp_status %s_open_in(%s *c, pp_runtime *rt, const char *bundle)\n"
	        "{\n\treturn ppc_caller_open(&c->base, rt, %s_ID, %s_VERSION_MAJOR, \"%s@%u\", "
	        "bundle);\n}\n"
	        "static inline pp_status %s_open(%s *c, pp_runtime *rt)\n{\n"
	        "\treturn %s_open_in(c, rt, NULL);\n}\n"
	        "static inline void %s_close(%s *c)\n{\n\tppc_caller_close(&c->base);\n}\n",
	        id, id, ID, ID, c->name, c->major, id, id, id, id, id);
	for (size_t i = 0; i < c->function_count; i++) {
		const ppc_function *fn = &c->functions[i];
		char FN[128], name[320], first[200];
		ppc_c_upper(fn->name, FN, sizeof FN);
		snprintf(name, sizeof name, "%s_%s", id, fn->name);
		snprintf(first, sizeof first, "%s *ppc_c_", id);
		ppc_comment(f, "", "/*", fn->docs);
		/* inline whole, as pp_call is: an out-of-line entry would cost the
		 * host more than everything the caller adds to pp_call */
		caller_start(f, "static inline __attribute__((always_inline))", name, first, id,
		             fn);
		fprintf(f,
		        "\treturn ppc_caller_call(&ppc_c_->base, %s_FN_%s, &ppc_a_, %s, %s);\n}\n",
		        ID, FN, result_arg(fn), arena_arg(fn));
	}
}

static const char runtime_support[] =
        "\n#ifndef PPC_SUPPORT_\n#define PPC_SUPPORT_\n"
        "/* What an implementation function gets: the host table, its instance's\n"
        " * state (NULL for the default instance) and, for functions returning\n"
        " * StringView or Buffer, the caller's arena for the result's bytes. */\n"
        "typedef struct ppc_ctx {\n\tconst pp_host_api *host;\n\tvoid *self;\n"
        "\tpp_call_arena *arena;\n} ppc_ctx;\n\n"
        "/* Copies bytes for a StringView/Buffer result into the caller's arena\n"
        " * (the host's allocator when the caller passed none: it frees them with\n"
        " * host->free(ptr, len, 1)). Returns PP_OK or PP_ERR_OUT_OF_MEMORY. */\n"
        "static inline uint32_t ppc_result_bytes(ppc_ctx *ctx, const void *bytes, size_t len,\n"
        "                                        pp_string_view *result)\n{\n"
        "\tuint8_t *p = NULL;\n\tif (len) {\n"
        "\t\tp = ctx->arena ? (uint8_t *)pp_call_arena_alloc(ctx->arena, len, 1)\n"
        "\t\t               : (uint8_t *)ctx->host->alloc(ctx->host, len, 1);\n"
        "\t\tif (!p)\n\t\t\treturn PP_ERR_OUT_OF_MEMORY;\n\t\tmemcpy(p, bytes, len);\n\t}\n"
        "\tresult->ptr = p;\n\tresult->len = len;\n\treturn PP_OK;\n}\n\n"
        "static inline pp_string_view ppc_str(const char *s)\n{\n"
        "\tpp_string_view v = {(const uint8_t *)s, s ? strlen(s) : 0};\n\treturn v;\n}\n\n"
        "/* Whether the runtime's host table has an entry (appended ones may be absent). */\n"
        "#define PPC_HOST_HAS(host, entry) \\\n"
        "\t((host)->size >= offsetof(pp_host_api, entry) + sizeof((host)->entry))\n\n"
        "/* One call of a host contract function through the host table: one lookup\n"
        " * and one version, safe from any thread. (A runtime without\n"
        " * call_host_contract gets two lookups, which a reload between them can\n"
        " * answer from two versions: docs/abi.md.) */\n"
        "static inline uint32_t ppc_call_host(const pp_host_api *host, uint64_t id, uint32_t "
        "min_version,\n                                     uint32_t fn, const void *args, "
        "void *out)\n{\n"
        "\tif (PPC_HOST_HAS(host, call_host_contract)) {\n"
        "\t\tpp_abi_error e = {PP_OK, {NULL, 0}};\n"
        "\t\thost->call_host_contract(host, id, min_version, fn, args, out, &e);\n"
        "\t\treturn e.code;\n\t}\n"
        "\tconst pp_host_contract_interface *i =\n"
        "\t        host->resolve_host_contract_interface(host, id, min_version);\n"
        "\tif (!i)\n\t\treturn PP_ERR_NOT_FOUND;\n"
        "\tpp_host_contract_instance inst = host->get_host_contract(host, id, min_version);\n"
        "\tpp_abi_error err = {PP_OK, {NULL, 0}};\n"
        "\tif (i->dispatch_type == PP_DISPATCH_NATIVE) {\n"
        "\t\tif (fn >= i->dispatch.native.function_count)\n"
        "\t\t\terr.code = PP_ERR_FUNCTION_NOT_AVAILABLE;\n\t\telse\n"
        "\t\t\t((pp_native_host_fn)i->dispatch.native.functions[fn])(inst.data, args, out, "
        "&err);\n"
        "\t} else {\n\t\tpp_guest_contract_instance none = {NULL, 0};\n"
        "\t\ti->dispatch.vm.call(i->dispatch.vm.loader_data, none, fn, args, out, NULL, &err);\n"
        "\t}\n\tif (!(i->flags & PP_HOST_CONTRACT_SINGLETON))\n\t\ti->destroy_instance(i, "
        "inst);\n\treturn err.code;\n}\n\n"
        "/* One call of a peer's guest contract function through the host table, on a\n"
        " * fresh instance: one lookup, safe from any thread. (A runtime without\n"
        " * call_guest_contract: find and resolve, safe only inside a call the runtime\n"
        " * made into this plugin.) */\n"
        "static inline uint32_t ppc_call_peer(const pp_host_api *host, uint64_t id, uint32_t "
        "major,\n                                     uint32_t fn, const void *args, void *out,\n"
        "                                     pp_call_arena *arena)\n{\n"
        "\tif (PPC_HOST_HAS(host, call_guest_contract)) {\n"
        "\t\tpp_abi_error e = {PP_OK, {NULL, 0}};\n"
        "\t\thost->call_guest_contract(host, id, major, fn, args, out, arena, &e);\n"
        "\t\treturn e.code;\n\t}\n"
        "\tconst pp_guest_contract_interface *i =\n"
        "\t        host->resolve_guest_contract(host, host->find_guest_contract(host, id, "
        "major));\n"
        "\tif (!i)\n\t\treturn PP_ERR_NOT_FOUND;\n"
        "\tpp_vm_loader_data ld = {i->dispatch_type == PP_DISPATCH_VM ? "
        "i->dispatch.vm.loader_data.data : NULL};\n"
        "\tpp_guest_contract_instance inst = {NULL, 0};\n"
        "\tpp_abi_error err = {PP_OK, {NULL, 0}};\n"
        "\ti->create_instance(ld, host, NULL, &inst, &err);\n"
        "\tif (err.code != PP_OK && err.code != PP_ERR_REENTRANT_CALL)\n\t\treturn err.code;\n"
        "\terr.code = PP_OK;\n\tinst.contract_id = id;\n"
        "\tif (i->dispatch_type == PP_DISPATCH_NATIVE) {\n"
        "\t\tif (fn >= i->dispatch.native.function_count)\n"
        "\t\t\terr.code = PP_ERR_FUNCTION_NOT_AVAILABLE;\n\t\telse\n"
        "\t\t\t((pp_native_guest_fn)i->dispatch.native.functions[fn])(inst, args, out, &err);\n"
        "\t} else {\n"
        "\t\ti->dispatch.vm.call(i->dispatch.vm.loader_data, inst, fn, args, out, arena, &err);\n"
        "\t}\n\ti->destroy_instance(ld, host, inst);\n\treturn err.code;\n}\n"
        "#endif\n";

static const char host_support[] =
        "\n#if defined(PPC_HOST) && !defined(PPC_HOST_SUPPORT_)\n#define PPC_HOST_SUPPORT_\n"
        "#include <stdatomic.h>\n#include <polyplug/polyplug.h>\n\n"
        "/* A host's handle on one guest contract. Calls go through pp_call (safe\n"
        " * against concurrent unload); when the contract's revision counter moves\n"
        " * (a bundle providing it was loaded, reloaded or unloaded; others' changes\n"
        " * leave it) the next call finds the contract again and makes a new\n"
        " * instance, since instances do not survive a reload. */\n"
        "typedef struct ppc_caller {\n\tpp_runtime *rt;\n\tuint64_t id;\n\tuint32_t major;\n"
        "\tconst char *name;   /* \"math.Adder@1\" */\n"
        "\tconst char *bundle; /* the provider's bundle, or NULL for the first */\n"
        "\tpp_guest_contract_handle h;\n\tpp_guest_contract_instance inst;\n"
        "\tbool has_inst;\n\tuint64_t seen;\n\tconst uint64_t *rev;\n"
        "} ppc_caller;\n\n"
        "/* The contract's revision. The runtime publishes a change between two bumps\n"
        " * (odd: under way), so a caller that found the contract while it was odd\n"
        " * remembers the value from before the change, and looks again once it is done. */\n"
        "static inline uint64_t ppc_revision(const ppc_caller *c)\n{\n"
        "\treturn atomic_load_explicit((const _Atomic uint64_t *)(const void *)c->rev,\n"
        "\t                            memory_order_acquire);\n}\n\n"
        "static inline void ppc_caller_close(ppc_caller *c)\n{\n"
        "\tif (c->has_inst)\n\t\tpp_instance_destroy(c->rt, c->h, c->inst);\n"
        "\tc->has_inst = false;\n}\n\n"
        "static inline pp_status ppc_caller_refresh(ppc_caller *c)\n{\n"
        "\tppc_caller_close(c);\n\tc->seen = ppc_revision(c) & ~(uint64_t)1;\n"
        "\tc->h = pp_find_named(c->rt, c->name, c->major, c->bundle);\n"
        "\tif (pp_handle_is_null(c->h))\n\t\treturn PP_ERR_NOT_FOUND;\n"
        "\tpp_status st = pp_instance_create(c->rt, c->h, NULL, &c->inst);\n"
        "\tc->has_inst = st == PP_OK;\n\treturn st;\n}\n\n"
        "static inline pp_status ppc_caller_open(ppc_caller *c, pp_runtime *rt, uint64_t id, "
        "uint32_t major,\n                                        const char *name, const char "
        "*bundle)\n{\n"
        "\tmemset(c, 0, sizeof *c);\n\tc->rt = rt;\n\tc->id = id;\n\tc->major = major;\n"
        "\tc->name = name;\n\tc->bundle = bundle;\n"
        "\tc->rev = pp_contract_revision_counter(rt, id);\n"
        "\treturn ppc_caller_refresh(c);\n}\n\n"
        "/* A reload can land between the revision check and the call, which then\n"
        " * reaches the new version with the old one's instance. pp_call refuses it\n"
        " * before any code runs, with PP_ERR_STALE_INSTANCE, a code only the runtime\n"
        " * gives; the caller finds the contract again, makes a new instance and\n"
        " * calls once more. A function that ran and failed is never run twice.\n"
        " * Out of line: only the first call and calls after a change come here. */\n"
        "static __attribute__((noinline, unused)) uint32_t\n"
        "ppc_caller_call_again(ppc_caller *c, uint32_t fn, const void *args, void *out,\n"
        "                      pp_call_arena *arena)\n{\n"
        "\tfor (int again = 0;; again++) {\n"
        "\t\tif (ppc_revision(c) != c->seen || !c->has_inst) {\n"
        "\t\t\tpp_status st = ppc_caller_refresh(c);\n\t\t\tif (st != PP_OK)\n"
        "\t\t\t\treturn st;\n\t\t}\n"
        "\t\tuint32_t code = pp_call(c->rt, c->h, c->inst, fn, args, out, arena);\n"
        "\t\tif (code != PP_ERR_STALE_INSTANCE || again == 8)\n"
        "\t\t\treturn code;\n"
        "\t\tppc_caller_close(c); /* stale: made by a replaced version */\n"
        "\t}\n}\n\n"
        "/* A call: inline while the contract has not moved since this caller found it. */\n"
        "static inline __attribute__((always_inline)) uint32_t\n"
        "ppc_caller_call(ppc_caller *c, uint32_t fn, const void *args, void *out, pp_call_arena "
        "*arena)\n{\n"
        "\tif (__builtin_expect(ppc_revision(c) == c->seen && c->has_inst, 1)) {\n"
        "\t\tuint32_t code = pp_call(c->rt, c->h, c->inst, fn, args, out, arena);\n"
        "\t\tif (__builtin_expect(code != PP_ERR_STALE_INSTANCE, 1))\n"
        "\t\t\treturn code;\n"
        "\t\tppc_caller_close(c);\n\t}\n"
        "\treturn ppc_caller_call_again(c, fn, args, out, arena);\n}\n#endif\n";

/* "#if" the translation unit implements at least one guest contract. */
static void implements_something(FILE *f, const ppc_model *m)
{
	fputs("\n#if 0", f);
	for (size_t i = 0; i < m->contract_count; i++) {
		if (m->contracts[i].host)
			continue;
		char id[160], ID[160]; /* contract names are at most 127 bytes */
		ppc_c_ident(m->contracts[i].name, id, sizeof id);
		ppc_c_upper(id, ID, sizeof ID);
		fprintf(f, " || defined(PPC_IMPLEMENT_%s)", ID);
	}
	fputs("\n", f);
}

int ppc_gen_c(FILE *f, const ppc_model *m, const char *guard)
{
	fputs("/* Generated by ppc from ", f);
	ppc_comment_path(f, m->file);
	fputs(". Do not edit: change the contract file and run\n"
	      " * ppc again. How to use it: docs/contracts.md.\n"
	      " *\n"
	      " * Plugins: #define PPC_IMPLEMENT_<CONTRACT> (one per contract the bundle\n"
	      " * provides) and PPC_BUNDLE_NAME in one .c file before including this, and\n"
	      " * write the <contract>_<fn>_impl functions; polyplug_init is generated.\n"
	      " * Hosts: #define PPC_HOST before including it for the typed callers. */\n",
	      f);
	fprintf(f, "#ifndef %s\n#define %s\n\n", guard, guard);
	fputs("#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n#include "
	      "<string.h>\n\n"
	      "#include <polyplug/abi.h>\n",
	      f);
	fputs(runtime_support, f);
	implements_something(f, m);
	fputs("#ifndef PPC_BUNDLE_NAME\n#define PPC_BUNDLE_NAME "
	      "\"ppc-bundle\"\n#endif\n"
	      "static const pp_host_api *ppc__host; /* set by polyplug_init */\n#endif\n",
	      f);
	types(f, m);
	for (size_t i = 0; i < m->contract_count; i++) {
		const ppc_contract *c = &m->contracts[i];
		char id[160], ID[160];
		ppc_c_ident(c->name, id, sizeof id);
		ppc_c_upper(id, ID, sizeof ID);
		contract_layout(f, c, id, ID);
		if (c->host)
			host_callers(f, c, id, ID);
		else {
			guest_skeleton(f, c, id, ID);
			peer_callers(f, c, id, ID);
		}
	}
	fputs(host_support, f);
	fputs("\n#ifdef PPC_HOST\n", f);
	for (size_t i = 0; i < m->contract_count; i++) {
		const ppc_contract *c = &m->contracts[i];
		char id[160], ID[160];
		ppc_c_ident(c->name, id, sizeof id);
		ppc_c_upper(id, ID, sizeof ID);
		if (!c->host)
			guest_callers(f, c, id, ID);
		else /* for the host's interface: .layouts = ppc__ID_layouts */
			layouts_table(f, c, id);
	}
	fputs("#endif /* PPC_HOST */\n", f);

	/* polyplug_init for whatever this translation unit implements */
	implements_something(f, m);
	fputs("PP_DEFINE_ABI_VERSION()\n"
	      "PP_EXPORT pp_abi_error polyplug_init(const pp_host_api *host, "
	      "const pp_bundle_init_context *init)\n{\n"
	      "\t(void)init;\n\tppc__host = host;\n\tpp_abi_error err = {PP_OK, {NULL, 0}};\n",
	      f);
	for (size_t i = 0; i < m->contract_count; i++) {
		if (m->contracts[i].host)
			continue;
		char id[160], ID[160];
		ppc_c_ident(m->contracts[i].name, id, sizeof id);
		ppc_c_upper(id, ID, sizeof ID);
		fprintf(f,
		        "#ifdef PPC_IMPLEMENT_%s\n\tif (err.code == PP_OK)\n\t\terr = "
		        "ppc__%s_register(host);\n#endif\n",
		        ID, id);
	}
	fputs("\treturn err;\n}\n#endif\n", f);
	fprintf(f, "\n#endif /* %s */\n", guard);
	return ferror(f) ? -1 : 0;
}
