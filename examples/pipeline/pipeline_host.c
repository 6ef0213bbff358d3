/*
 * pipeline_host.c — drives the pipeline example: loads the bundles under
 * BUNDLES_DIR (C and JS, in dependency order), offers host.Logger, and runs
 * every record of a CSV file through decoder -> validator -> transformer ->
 * encoder, with the reporter describing each. All calls go through the
 * typed callers ppc generated from contracts.toml.
 *
 *   pipeline_host BUNDLES_DIR FILE.csv
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#define PPC_HOST
#include "pipeline.h"

/* ---- host.Logger ------------------------------------------------------------ */

static void logger_log(void *state, const void *args, void *out, pp_abi_error *err)
{
	(void)state;
	(void)out;
	(void)err;
	const host_logger_log_args *a = args;
	/* LogLevel is the runtime's PP_LOG_* numbering */
	static const char *const levels[] = {"?", "error", "warn", "info", "debug", "trace"};
	printf("    [host log %s] %.*s\n", a->level <= PP_LOG_TRACE ? levels[a->level] : "?",
	       (int)a->message.len, (const char *)a->message.ptr);
}

static const void *const logger_fns[] = {(const void *)logger_log};

static pp_host_contract_instance no_state(const pp_host_contract_interface *self, const void *a)
{
	(void)self;
	(void)a;
	pp_host_contract_instance none = {NULL};
	return none;
}

static void no_cleanup(const pp_host_contract_interface *self, pp_host_contract_instance i)
{
	(void)self;
	(void)i;
}

static pp_host_contract_interface logger = {
        .size = sizeof(pp_host_contract_interface),
        .contract_id = HOST_LOGGER_ID,
        .contract_version = {HOST_LOGGER_VERSION_MAJOR, HOST_LOGGER_VERSION_MINOR, 0},
        .flags = PP_HOST_CONTRACT_SINGLETON,
        .dispatch_type = PP_DISPATCH_NATIVE,
        .create_instance = no_state,
        .destroy_instance = no_cleanup,
        .dispatch.native = {HOST_LOGGER_FUNCTION_COUNT, logger_fns},
        .layouts = ppc__host_logger_layouts, /* guarded JS bundles call only declared sizes */
};

/* ---- The run ------------------------------------------------------------------- */

typedef struct stages {
	pipeline_decoder decoder;
	pipeline_validator validator;
	pipeline_transformer transformer;
	pipeline_encoder encoder;
	pipeline_reporter reporter;
} stages;

static void report(void *ud, const pp_dir_entry *e)
{
	(void)ud;
	if (e->status == PP_OK)
		printf("  #%u %s\n", e->order, e->name);
	else
		printf("  %s NOT LOADED: %s\n", e->name, e->error);
}

#define SHOW(v) (int)(v).len, (const char *)(v).ptr

/* One record through the stages; the arena holds every intermediate string. */
static bool run_record(pp_runtime *rt, stages *s, const char *line, pp_call_arena *arena)
{
	pp_string_view decoded, validated, transformed, encoded, words;
	uint32_t rc = pipeline_decoder_decode(&s->decoder, ppc_str(line), arena, &decoded);
	if (rc != PP_OK) {
		printf("  %-32s -> decoder refused it (%s): %s\n", line, pp_status_name(rc),
		       pp_last_error(rt));
		return false;
	}
	rc = pipeline_validator_validate(&s->validator, decoded, arena, &validated);
	if (rc != PP_OK) {
		printf("  %-32s -> validator failed (%s): %s\n", line, pp_status_name(rc),
		       pp_last_error(rt));
		return false;
	}
	if (validated.len >= 8 && memcmp(validated.ptr, "INVALID:", 8) == 0) {
		printf("  %-32s -> %.*s\n", line, SHOW(validated));
		return false;
	}
	rc = pipeline_transformer_transform(&s->transformer, validated, arena, &transformed);
	if (rc == PP_OK)
		rc = pipeline_encoder_encode(&s->encoder, transformed, arena, &encoded);
	if (rc == PP_OK)
		rc = pipeline_reporter_report(&s->reporter, transformed, arena, &words);
	if (rc != PP_OK) {
		printf("  %-32s -> failed (%s): %s\n", line, pp_status_name(rc), pp_last_error(rt));
		return false;
	}
	printf("  %-32s -> %.*s\n  %32s    %.*s\n", line, SHOW(encoded), "", SHOW(words));
	return true;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: pipeline_host BUNDLES_DIR FILE.csv\n");
		return 2;
	}
	FILE *csv = fopen(argv[2], "r");
	pp_runtime *rt = NULL;
	if (!csv || pp_runtime_new(NULL, &rt) != PP_OK) {
		fprintf(stderr, "pipeline: cannot open %s\n", argv[2]);
		return 2;
	}
	printf("pipeline: loading %s\n", argv[1]);
	size_t loaded = 0;
	stages s;
	int status = 1;
	/* The host states its contracts' sizes before loading: a guarded JS
	 * bundle is then held to them, whatever it declares about itself. */
	if (pipeline_decoder_declare(rt) != PP_OK || pipeline_validator_declare(rt) != PP_OK ||
	    pipeline_transformer_declare(rt) != PP_OK || pipeline_encoder_declare(rt) != PP_OK ||
	    pipeline_reporter_declare(rt) != PP_OK ||
	    pp_host_contract_register(rt, &logger) != PP_OK ||
	    pp_bundle_load_dir(rt, argv[1], report, NULL, &loaded) != PP_OK ||
	    pipeline_decoder_open(&s.decoder, rt) != PP_OK ||
	    pipeline_validator_open(&s.validator, rt) != PP_OK ||
	    pipeline_transformer_open(&s.transformer, rt) != PP_OK ||
	    pipeline_encoder_open(&s.encoder, rt) != PP_OK ||
	    pipeline_reporter_open(&s.reporter, rt) != PP_OK) {
		fprintf(stderr, "pipeline: %s\n", pp_last_error(rt));
		goto done;
	}
	printf("pipeline: running %s\n", argv[2]);
	uint8_t mem[512];
	pp_call_arena arena;
	pp_call_arena_init(&arena, mem, sizeof mem, pp_runtime_host_api(rt));
	char line[1024];
	unsigned records = 0, good = 0;
	while (fgets(line, sizeof line, csv)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!*line)
			continue;
		records++;
		good += run_record(rt, &s, line, &arena);
		pp_call_arena_reset(&arena); /* the strings of one record go at once */
	}
	pp_call_arena_free(&arena);
	uint32_t encoded = 0;
	pipeline_encoder_encoded(&s.encoder, &encoded);
	printf("pipeline: %u records, %u through, %u encoded\n", records, good, encoded);
	status = 0;
	pipeline_decoder_close(&s.decoder);
	pipeline_validator_close(&s.validator);
	pipeline_transformer_close(&s.transformer);
	pipeline_encoder_close(&s.encoder);
	pipeline_reporter_close(&s.reporter);
done:
	fclose(csv);
	pp_runtime_free(rt);
	return status;
}
