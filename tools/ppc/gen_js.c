/*
 * gen_js.c — the JS side: a bundle.js made of the author's classes followed
 * by generated glue (polyplug_init, typed-signature wrappers, the factory,
 * peer and host-contract callers), and TypeScript declarations.
 *
 * Incoming calls use the JS loader's typed signatures, so values arrive as
 * JS values and strings cross as UTF-8 without per-byte bridge calls.
 * Outgoing calls (peers, host contracts) marshal the args struct with one
 * bridge call per field and bridge.fast for strings and bytes.
 */
#include <stdio.h>
#include <string.h>

#include <polyplug/polyplug.h>

#include "gen.h"

/* Expressions are written straight to the output, never built in a fixed
 * buffer: however wide and deep a struct (within the model's limits), nothing
 * is cut short. */

/* The JS loader's signature spelling of a type: a name, or for a struct
 * { struct: [['field', type], ...] } (nested as deep as the struct is). */
static void sig_spec(FILE *f, ppc_type t)
{
	if (t.kind == PPC_ENUM) {
		ppc_type r = {t.en->repr, NULL, NULL};
		fprintf(f, "'%s'", ppc_type_name(r));
		return;
	}
	if (t.kind != PPC_STRUCT) {
		fprintf(f, "'%s'", ppc_type_name(t));
		return;
	}
	fputs("{ struct: [", f);
	for (size_t i = 0; i < t.st->field_count; i++) {
		fprintf(f, "%s['%s', ", i ? ", " : "", t.st->fields[i].name);
		sig_spec(f, t.st->fields[i].type);
		fputs("]", f);
	}
	fputs("] }", f);
}

static ppc_kind base_kind(ppc_type t)
{
	return t.kind == PPC_ENUM ? t.en->repr : t.kind;
}

static const char *last_segment(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot ? dot + 1 : name;
}

/* A JS property name for a contract: "host.logger" -> "logger",
 * "pipeline.Validator" -> "validator". */
static void js_member(const char *name, char *out, size_t cap)
{
	const char *s = last_segment(name);
	snprintf(out, cap, "%c%s", s[0] >= 'A' && s[0] <= 'Z' ? s[0] + 32 : s[0], s + 1);
}

/* ---- Outgoing calls ------------------------------------------------------- */

/* The range of an integer kind, as JS source. */
static const char *int_range(ppc_kind k)
{
	switch (k) {
	case PPC_I8:
		return "-128, 127";
	case PPC_U8:
		return "0, 255";
	case PPC_I16:
		return "-32768, 32767";
	case PPC_U16:
		return "0, 65535";
	case PPC_I32:
		return "-2147483648, 2147483647";
	default:
		return "0, 4294967295";
	}
}

/* JS that writes value `v` of type t at `base + off`, checked first: a value
 * that is not one of the type (256 for a u8, NaN, '7', 2^64 + 5) fails the
 * call naming where (`contract.fn`), the param and the type, rather than
 * going out wrapped. v grows by one ".field" per struct level:
 * PPC_MAX_DEPTH levels of PPC_MAX_IDENT-byte names always fit. */
static void write_field(FILE *f, const char *where, ppc_type t, const char *base, size_t off,
                        const char *v)
{
	const char *tn = ppc_type_name(t);
	ppc_kind k = base_kind(t);
	switch (k) {
	case PPC_BOOL:
		fprintf(f, "      $b.writeByte(%s + %zu, $ppc.bool(%s, '%s', '%s') ? 1 : 0);\n",
		        base, off, v, where, v);
		break;
	case PPC_I8:
	case PPC_U8:
		fprintf(f,
		        "      $b.writeByte(%s + %zu, $ppc.int(%s, %s, '%s', '%s', '%s') & "
		        "0xff);\n",
		        base, off, v, int_range(k), where, v, tn);
		break;
	case PPC_I16:
	case PPC_U16:
		fprintf(f,
		        "      { const $v = $ppc.int(%s, %s, '%s', '%s', '%s');\n"
		        "        $b.writeByte(%s + %zu, $v & 0xff); $b.writeByte(%s + %zu, ($v >> "
		        "8) & "
		        "0xff); }\n",
		        v, int_range(k), where, v, tn, base, off, base, off + 1);
		break;
	case PPC_I32:
		fprintf(f, "      $b.writeI32(%s + %zu, $ppc.int(%s, %s, '%s', '%s', '%s'));\n",
		        base, off, v, int_range(k), where, v, tn);
		break;
	case PPC_U32:
		fprintf(f, "      $b.writeU32(%s + %zu, $ppc.int(%s, %s, '%s', '%s', '%s'));\n",
		        base, off, v, int_range(k), where, v, tn);
		break;
	case PPC_I64:
	case PPC_U64:
		fprintf(f, "      $ppc.write64(%s + %zu, $ppc.big(%s, %s, '%s', '%s', '%s'));\n",
		        base, off, v, k == PPC_I64 ? "true" : "false", where, v, tn);
		break;
	case PPC_F32:
	case PPC_F64:
		fprintf(f, "      $b.write%s(%s + %zu, $ppc.num(%s, '%s', '%s', '%s'));\n",
		        k == PPC_F32 ? "F32" : "F64", base, off, v, where, v, tn);
		break;
	case PPC_STRING:
		fprintf(f, "      $ppc.writeString(%s + %zu, $ppc.str(%s, '%s', '%s'), $temps);\n",
		        base, off, v, where, v);
		break;
	case PPC_BUFFER:
		fprintf(f, "      $ppc.writeBuffer(%s + %zu, %s, $temps, '%s', '%s');\n", base, off,
		        v, where, v);
		break;
	case PPC_STRUCT:
		fprintf(f, "      $ppc.obj(%s, '%s', '%s', '%s');\n", v, where, v, tn);
		for (size_t i = 0; i < t.st->field_count; i++) {
			char fv[(PPC_MAX_IDENT + 2) * (PPC_MAX_DEPTH + 2)];
			snprintf(fv, sizeof fv, "%s.%s", v, t.st->fields[i].name);
			write_field(f, where, t.st->fields[i].type, base,
			            off + t.st->fields[i].offset, fv);
		}
		break;
	default:
		break;
	}
}

/* A JS expression reading a value of type t at `base + off`. */
static void read_expr(FILE *f, ppc_type t, const char *base, size_t off)
{
	switch (base_kind(t)) {
	case PPC_BOOL:
		fprintf(f, "$b.readByte(%s + %zu) !== 0", base, off);
		break;
	case PPC_I8:
		fprintf(f, "($b.readByte(%s + %zu) << 24) >> 24", base, off);
		break;
	case PPC_U8:
		fprintf(f, "$b.readByte(%s + %zu)", base, off);
		break;
	case PPC_I16:
		fprintf(f, "(($b.readByte(%s + %zu) | ($b.readByte(%s + %zu) << 8)) << 16) >> 16",
		        base, off, base, off + 1);
		break;
	case PPC_U16:
		fprintf(f, "($b.readByte(%s + %zu) | ($b.readByte(%s + %zu) << 8))", base, off,
		        base, off + 1);
		break;
	case PPC_I32:
		fprintf(f, "$b.readI32(%s + %zu)", base, off);
		break;
	case PPC_U32:
		fprintf(f, "$b.readU32(%s + %zu)", base, off);
		break;
	case PPC_I64:
		fprintf(f, "$ppc.signed64($ppc.read64(%s + %zu))", base, off);
		break;
	case PPC_U64:
		fprintf(f, "$ppc.read64(%s + %zu)", base, off);
		break;
	case PPC_F32:
		fprintf(f, "$b.readF32(%s + %zu)", base, off);
		break;
	case PPC_F64:
		fprintf(f, "$b.readF64(%s + %zu)", base, off);
		break;
	case PPC_STRING:
		fprintf(f, "$ppc.takeString(%s + %zu)", base, off);
		break;
	case PPC_BUFFER:
		fprintf(f, "$ppc.takeBuffer(%s + %zu)", base, off);
		break;
	case PPC_STRUCT:
		fputs("{ ", f);
		for (size_t i = 0; i < t.st->field_count; i++) {
			fprintf(f, "%s%s: ", i ? ", " : "", t.st->fields[i].name);
			read_expr(f, t.st->fields[i].type, base, off + t.st->fields[i].offset);
		}
		fputs(" }", f);
		break;
	default:
		fputs("undefined", f);
		break;
	}
}

/* ", [offsets]": where in out a result's StringView/Buffer values are. Their
 * bytes are the callee's, handed to the caller; a guarded bundle names them
 * so the loader lets it read and free them (docs/js.md "Memory safety"). */
static void view_offsets(FILE *f, ppc_type t)
{
	/* all of them: past the 16 a caller may name, the bridge says so */
	size_t offs[256], n = ppc_views(t, 0, offs, 0, 256);
	for (size_t k = 0; k < n && k < 256; k++)
		fprintf(f, "%s%zu", k ? ", " : ", [", offs[k]);
	if (n)
		fputc(']', f);
}

/* One caller object: { fn(args...) { ... } } for a peer or host contract. */
static void callers(FILE *f, const ppc_contract *c)
{
	char member[128];
	js_member(c->name, member, sizeof member);
	fprintf(f, "    %s: {\n", member);
	for (size_t i = 0; i < c->function_count; i++) {
		const ppc_function *fn = &c->functions[i];
		fprintf(f, "    %s(", fn->name);
		for (size_t j = 0; j < fn->param_count; j++)
			fprintf(f, "%s%s", j ? ", " : "", fn->params[j].name);
		fputs(") {\n      const $temps = [];\n      try {\n", f);
		fprintf(f, "      const $args = $ppc.alloc(%zu, $temps);\n",
		        fn->args_size ? fn->args_size : 1);
		char where[PPC_MAX_CONTRACT_NAME + PPC_MAX_IDENT + 2];
		snprintf(where, sizeof where, "%s.%s", c->name, fn->name);
		for (size_t j = 0; j < fn->param_count; j++)
			write_field(f, where, fn->params[j].type, "$args", fn->params[j].offset,
			            fn->params[j].name);
		if (fn->needs_arena)
			fprintf(f,
			        "      $b.writeU32($args + %zu, 0); $b.writeU32($args + %zu, 0);\n",
			        fn->arena_offset, fn->arena_offset + 4);
		size_t out_size = fn->result.kind == PPC_VOID ? 1 : ppc_type_size(fn->result);
		fprintf(f, "      const $out = $ppc.alloc(%zu, $temps);\n", out_size);
		if (c->host)
			fprintf(f,
			        "      const $rc = $b.callHostContract(%u, %u, 0x%08x, %zu, $args, "
			        "$out",
			        (unsigned)(uint32_t)c->id, (unsigned)(uint32_t)(c->id >> 32),
			        c->major << 16 | c->minor, i);
		else
			fprintf(f, "      const $rc = $b.dispatchPeer(%u, %u, %u, %zu, $args, $out",
			        (unsigned)(uint32_t)c->id, (unsigned)(uint32_t)(c->id >> 32),
			        c->major, i);
		view_offsets(f, fn->result);
		fputs(");\n", f);
		fprintf(f,
		        "        if ($rc !== 0) throw $ppc.failed('%s.%s', $rc);\n        return ",
		        c->name, fn->name);
		if (fn->result.kind != PPC_VOID)
			read_expr(f, fn->result, "$out", 0);
		else
			fputs("undefined", f);
		fputs(";\n      } finally {\n        $ppc.release($temps);\n      }\n    },\n", f);
	}
	fputs("    },\n", f);
}

static const char js_support[] =
        "  // Memory for outgoing calls: allocated from the host, freed after the call.\n"
        "  function $makeSupport(b) {\n"
        "    const TWO32 = 4294967296;\n"
        "    const ptrOf = (pair) => pair[1] * TWO32 + pair[0];\n"
        "    const ppc = {\n"
        "      alloc(size, temps) {\n"
        "        const pair = b.alloc(size);\n"
        "        const p = ptrOf(pair);\n"
        "        if (p === 0) throw new Error('ppc: out of memory');\n"
        "        temps.push([pair[0], pair[1], size]);\n"
        "        return p;\n"
        "      },\n"
        "      release(temps) {\n"
        "        for (const t of temps) b.free(t[0], t[1], t[2], 1);\n"
        "      },\n"
        "      // (not BigInt.asUintN(64, …): QuickJS 2025-04-26 returns it signed)\n"
        "      write64(at, v) {\n"
        "        let x = BigInt(v) % 18446744073709551616n;\n"
        "        if (x < 0n) x += 18446744073709551616n;\n"
        "        b.writeU32(at, Number(x & 0xffffffffn));\n"
        "        b.writeU32(at + 4, Number(x >> 32n));\n"
        "      },\n"
        "      signed64(x) { return x >= 9223372036854775808n ? x - 18446744073709551616n : x; },\n"
        "      read64(at) {\n"
        "        return (BigInt(b.readU32(at + 4)) << 32n) | BigInt(b.readU32(at));\n"
        "      },\n"
        "      writeView(at, p, n) {\n"
        "        b.writeU32(at, p % TWO32); b.writeU32(at + 4, Math.floor(p / TWO32));\n"
        "        b.writeU32(at + 8, n); b.writeU32(at + 12, 0);\n"
        "      },\n"
        "      writeString(at, s, temps) {\n"
        "        s = String(s);\n"
        "        const n = b.fast.utf8Length(s);\n"
        "        const p = n ? ppc.alloc(n, temps) : 0;\n"
        "        if (n) b.fast.writeString(p, n, s);\n"
        "        ppc.writeView(at, p, n);\n"
        "      },\n"
        "      // what the bytes really are: a view's own length could be a getter that lies\n"
        "      writeBuffer(at, bytes, temps, where, name) {\n"
        "        if (!(bytes instanceof ArrayBuffer || ArrayBuffer.isView(bytes)))\n"
        "          ppc.refuse(where, name, 'Buffer', bytes);\n"
        "        if (bytes instanceof DataView) // the bridge copies typed arrays\n"
        "          bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);\n"
        "        const n = bytes.byteLength;\n"
        "        const p = n ? ppc.alloc(n, temps) : 0;\n"
        "        const w = n ? b.fast.writeBytes(p, n, bytes) : 0;\n"
        "        ppc.writeView(at, p, w);\n"
        "      },\n"
        "      refuse(where, name, type, v) {\n"
        "        const shown = typeof v === 'bigint' ? v + 'n' : typeof v === 'string' ?\n"
        "          JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v) :\n"
        "          typeof v === 'number' || typeof v === 'boolean' ? String(v) :\n"
        "          v === null ? 'null' : 'a ' + typeof v;\n"
        "        throw new TypeError(where + \": param '\" + name + \"' (\" + type + '): ' + shown "
        "+\n"
        "                            ' is not a value of that type');\n"
        "      },\n"
        "      bool(v, where, name) {\n"
        "        if (typeof v !== 'boolean') ppc.refuse(where, name, 'bool', v);\n"
        "        return v;\n"
        "      },\n"
        "      int(v, lo, hi, where, name, type) {\n"
        "        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)\n"
        "          ppc.refuse(where, name, type, v);\n"
        "        return v;\n"
        "      },\n"
        "      big(v, signed, where, name, type) {\n"
        "        const x = typeof v === 'bigint' ? v :\n"
        "          typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : null;\n"
        "        if (x === null || (signed ? x < -9223372036854775808n || x > "
        "9223372036854775807n\n"
        "                                  : x < 0n || x > 18446744073709551615n))\n"
        "          ppc.refuse(where, name, type, v);\n"
        "        return x;\n"
        "      },\n"
        "      num(v, where, name, type) {\n"
        "        if (typeof v !== 'number') ppc.refuse(where, name, type, v);\n"
        "        return v;\n"
        "      },\n"
        "      str(v, where, name) {\n"
        "        if (typeof v !== 'string') ppc.refuse(where, name, 'StringView', v);\n"
        "        return v;\n"
        "      },\n"
        "      obj(v, where, name, type) {\n"
        "        if (typeof v !== 'object' || v === null) ppc.refuse(where, name, type, v);\n"
        "      },\n"
        "      // a StringView/Buffer result: the callee's host-allocated bytes, freed here\n"
        "      takeView(at, read) {\n"
        "        const lo = b.readU32(at), hi = b.readU32(at + 4), n = b.readU32(at + 8);\n"
        "        const p = hi * TWO32 + lo;\n"
        "        const v = read(p, n);\n"
        "        if (p !== 0 && n !== 0) b.free(lo, hi, n, 1);\n"
        "        return v;\n"
        "      },\n"
        "      takeString(at) { return ppc.takeView(at, (p, n) => b.fast.readString(p, n)); },\n"
        "      takeBuffer(at) { return ppc.takeView(at, (p, n) => b.fast.readBytes(p, n)); },\n"
        "      failed(what, rc) {\n"
        "        const name = $STATUS_NAMES[rc];\n"
        "        const e = new Error(what + ' failed with code ' + rc + (name ? ' (' + name + ')' "
        ": ''));\n"
        "        e.code = rc;\n"
        "        return e;\n"
        "      },\n"
        "    };\n"
        "    return ppc;\n"
        "  }\n";

int ppc_gen_js(FILE *f, const ppc_model *m, const ppc_contract *const *mine, size_t count,
               const char *impl, size_t impl_len, const char *impl_file)
{
	if (impl) { /* NULL: the glue alone, for a bundler to append */
		fputs("// ---- ", f);
		ppc_comment_path(f, impl_file);
		fputs(" (the implementation) ----\n", f);
		fwrite(impl, 1, impl_len, f);
		if (impl_len && impl[impl_len - 1] != '\n')
			fputc('\n', f);
	}
	fputs("\n// ---- generated by ppc from ", f);
	ppc_comment_path(f, m->file);
	fputs(": do not edit below this line ----\n", f);
	/* enums as values (TypeScript's `Mood.Happy` compiles to this), unless
	 * the implementation has its own: of a 64-bit repr, BigInts, as such a
	 * param arrives (1n === 1 is false) and exact past 2^53 */
	for (size_t i = 0; i < m->enum_count; i++) {
		const ppc_enum *e = &m->enums[i];
		bool wide = e->repr == PPC_I64 || e->repr == PPC_U64;
		fprintf(f, "if (!('%s' in globalThis)) globalThis.%s = Object.freeze({", e->name,
		        e->name);
		for (size_t j = 0; j < e->variant_count; j++) {
			char text[32];
			ppc_value_text(e, e->variants[j].value, text, sizeof text);
			fprintf(f, "%s%s: %s%s", j ? ", " : " ", e->variants[j].name, text,
			        wide ? "n" : "");
		}
		fputs(" });\n", f);
	}
	/* Every binding of the glue's own is a $ name, which no contract, enum
	 * or struct name can take (identifiers are [A-Za-z0-9_]): `typeof Cls`
	 * and `new Cls` find the author's class whatever it is called (a
	 * contract demo.context once constructed the glue's context object). */
	fputs("var polyplug_init = (function () {\n  'use strict';\n", f);
	/* the runtime's status names, for the messages of failed calls */
	fputs("  const $STATUS_NAMES = {", f);
	const char *sep = " ";
	for (uint32_t code = 1; code < PP_ERR_PLUGIN_FIRST; code++) {
		if (strcmp(pp_status_name(code), "PP_ERR_UNKNOWN") != 0) {
			fprintf(f, "%s%u: '%s'", sep, code, pp_status_name(code));
			sep = ", ";
		}
	}
	fputs(" };\n", f);
	fputs(js_support, f);

	/* peers and host contracts, for the implementation's constructor */
	fputs("  function $makeContext($b, $ppc) {\n    const peers = {\n", f);
	for (int want_host = 0; want_host < 2; want_host++) {
		for (size_t j = 0; j < m->contract_count; j++)
			if (m->contracts[j].host == want_host && true)
				callers(f, &m->contracts[j]);
		if (!want_host)
			fputs("    };\n    const host = {\n", f);
	}
	fputs("    };\n    return { bridge: $b, peers, host };\n  }\n\n", f);

	fputs("  return function polyplug_init($hostLo, $hostHi, $ctxLo, $ctxHi, $bridge) {\n"
	      "    const $ppc = $makeSupport($bridge);\n"
	      "    const $context = $makeContext($bridge, $ppc);\n"
	      "    const $registrations = [];\n",
	      f);
	for (size_t i = 0; i < count; i++) {
		const ppc_contract *c = mine[i];
		const char *cls = last_segment(c->name);
		fprintf(f,
		        "    if (typeof %s !== 'function')\n"
		        "      return [[], { code: 1, message: 'the bundle must define class %s "
		        "(implementing %s)' }];\n",
		        cls, cls, c->name);
		fprintf(f,
		        "    $registrations.push({\n"
		        "      contractLo: %u, contractHi: %u, contractName: '%s@%u',\n"
		        "      version: 0x%08x, fnCount: %zu,\n"
		        "      interface: {\n"
		        "        factory: () => new %s($context),\n"
		        "        functions: [\n",
		        (unsigned)(uint32_t)c->id, (unsigned)(uint32_t)(c->id >> 32), c->name,
		        c->major, c->major << 16 | c->minor, c->function_count, cls);
		for (size_t k = 0; k < c->function_count; k++) {
			const ppc_function *fn = &c->functions[k];
			fputs("          ($impl", f);
			for (size_t j = 0; j < fn->param_count; j++)
				fprintf(f, ", %s", fn->params[j].name);
			fprintf(f, ") => $impl.%s(", fn->name);
			for (size_t j = 0; j < fn->param_count; j++)
				fprintf(f, "%s%s", j ? ", " : "", fn->params[j].name);
			fputs("),\n", f);
		}
		fputs("        ],\n        signatures: [\n", f);
		for (size_t k = 0; k < c->function_count; k++) {
			const ppc_function *fn = &c->functions[k];
			fputs("          { params: [", f);
			for (size_t j = 0; j < fn->param_count; j++) {
				fputs(j ? ", " : "", f);
				sig_spec(f, fn->params[j].type);
			}
			if (fn->needs_arena)
				fprintf(f, "%s'Arena'", fn->param_count ? ", " : "");
			fputs("], result: ", f);
			sig_spec(f, fn->result);
			fprintf(f, ", method: '%s' },\n", fn->name);
		}
		fputs("        ],\n      },\n    });\n", f);
	}
	fputs("    return [$registrations, { code: 0, message: '' }];\n  };\n})();\n", f);
	return ferror(f) ? -1 : 0;
}

/* ---- TypeScript ----------------------------------------------------------------- */

static const char *ts_type(ppc_type t)
{
	switch (t.kind) {
	case PPC_VOID:
		return "void";
	case PPC_BOOL:
		return "boolean";
	case PPC_I64:
	case PPC_U64:
		return "bigint";
	case PPC_STRING:
		return "string";
	case PPC_BUFFER:
		return "Uint8Array";
	case PPC_ENUM:
	case PPC_STRUCT:
		return ppc_type_name(t);
	default:
		return "number";
	}
}

static void ts_doc(FILE *f, const char *indent, const char *docs)
{
	ppc_comment(f, indent, "/**", docs);
}

static void ts_methods(FILE *f, const ppc_contract *c)
{
	for (size_t i = 0; i < c->function_count; i++) {
		const ppc_function *fn = &c->functions[i];
		ts_doc(f, "  ", fn->docs);
		fprintf(f, "  %s(", fn->name);
		for (size_t j = 0; j < fn->param_count; j++) {
			fprintf(f, "%s%s: %s", j ? ", " : "", fn->params[j].name,
			        ts_type(fn->params[j].type));
		}
		fprintf(f, "): %s;\n", ts_type(fn->result));
	}
}

int ppc_gen_dts(FILE *f, const ppc_model *m)
{
	fputs("// Generated by ppc from ", f);
	ppc_comment_path(f, m->file);
	fputs(". Do not edit.\n"
	      "// A module: import what you implement and call, by type, e.g.\n"
	      "//   import type { GreeterContract, PpcContext } from './contracts';\n"
	      "//   export class Greeter implements GreeterContract { ... }\n"
	      "// Each contract's interface is <Name>Contract, so that the class you write\n"
	      "// (<Name>) does not merge with it: tsc then reports a missing method or a\n"
	      "// wrong type. An enum's object is a global, as the glue defines it at run\n"
	      "// time: use Mood.Happy without importing it; import its type by name\n"
	      "// (import type { Mood } from './contracts').\n",
	      f);
	/* An enum is the object the glue makes (a const enum's values would be
	 * Numbers, and esbuild cannot import a value from a .d.ts): its type
	 * holds each variant's literal, a BigInt literal when the repr is 64-bit,
	 * as the glue's values and such a param are. The object is a global
	 * `var`, which another file may declare again with the same type (two
	 * bundles' declarations in one project); its type is the module's. */
	for (size_t i = 0; i < m->enum_count; i++) {
		const ppc_enum *e = &m->enums[i];
		bool wide = e->repr == PPC_I64 || e->repr == PPC_U64;
		fprintf(f, "type $%s = {\n", e->name);
		for (size_t j = 0; j < e->variant_count; j++) {
			char text[32];
			ppc_value_text(e, e->variants[j].value, text, sizeof text);
			fprintf(f, "  readonly %s: %s%s;\n", e->variants[j].name, text,
			        wide ? "n" : "");
		}
		fputs("};\ndeclare global {\n", f);
		ts_doc(f, "  ", e->docs);
		fprintf(f, "  var %s: $%s;\n}\n", e->name, e->name);
		ts_doc(f, "", e->docs);
		fprintf(f, "export type %s = $%s[keyof $%s];\n", e->name, e->name, e->name);
	}
	for (size_t i = 0; i < m->struct_count; i++) {
		const ppc_struct *s = &m->structs[i];
		ts_doc(f, "", s->docs);
		fprintf(f, "export interface %s {\n", s->name);
		for (size_t j = 0; j < s->field_count; j++)
			fprintf(f, "  %s: %s;\n", s->fields[j].name, ts_type(s->fields[j].type));
		fputs("}\n", f);
	}
	fputs("\n/** What the generated glue passes to each implementation class's constructor. "
	      "*/\n"
	      "export interface PpcContext {\n  bridge: unknown;\n  peers: {\n",
	      f);
	for (size_t i = 0; i < m->contract_count; i++) {
		const ppc_contract *c = &m->contracts[i];
		char member[128];
		js_member(c->name, member, sizeof member);
		if (!c->host)
			fprintf(f, "    %s: %sCaller;\n", member, last_segment(c->name));
	}
	fputs("  };\n  host: {\n", f);
	for (size_t i = 0; i < m->contract_count; i++) {
		const ppc_contract *c = &m->contracts[i];
		char member[128];
		js_member(c->name, member, sizeof member);
		if (c->host)
			fprintf(f, "    %s: %sCaller;\n", member, last_segment(c->name));
	}
	fputs("  };\n}\n", f);
	for (size_t i = 0; i < m->contract_count; i++) {
		const ppc_contract *c = &m->contracts[i];
		const char *cls = last_segment(c->name);
		fputc('\n', f);
		if (!c->host) {
			ts_doc(f, "", c->docs);
			fprintf(f,
			        "/** %s@%u: implement it as `class %s implements %sContract`. */\n"
			        "export interface %sContract {\n",
			        c->name, c->major, cls, cls, cls);
			ts_methods(f, c);
			fputs("}\n", f);
		}
		fprintf(f, "/** Calls %s %s@%u (a failure throws an Error with .code). */\n",
		        c->host ? "host contract" : "contract", c->name, c->major);
		fprintf(f, "export interface %sCaller {\n", cls);
		ts_methods(f, c);
		fputs("}\n", f);
	}
	return ferror(f) ? -1 : 0;
}
