/* gen.h — ppc's generators. Each writes one file to f; 0 on success. */
#ifndef PPC_GEN_H
#define PPC_GEN_H

#include <stdio.h>

#include "model.h"

/* The C header for every contract in m; guard is its include guard. */
int ppc_gen_c(FILE *f, const ppc_model *m, const char *guard);

/* A JS bundle: the implementation source (impl, impl_len bytes, read from
 * impl_file; NULL for the glue alone) followed by the glue that registers
 * the guest contracts mine[0..count) (ppc_pick_guests), each implemented by
 * the class named after the contract's last segment. */
int ppc_gen_js(FILE *f, const ppc_model *m, const ppc_contract *const *mine, size_t count,
               const char *impl, size_t impl_len, const char *impl_file);

/* TypeScript declarations for the JS side of m. */
int ppc_gen_dts(FILE *f, const ppc_model *m);

#endif
