/* gen.h — ppc's generators. Each writes one file to f; 0 on success. */
#ifndef PPC_GEN_H
#define PPC_GEN_H

#include <stdio.h>

#include "model.h"

/* The C header for every contract in m; guard is its include guard. */
int ppc_gen_c(FILE *f, const ppc_model *m, const char *guard);

/* A JS bundle: the implementation source (impl, impl_len bytes, read from
 * impl_file) followed by the glue that registers the listed guest contracts
 * (names, count), each implemented by the class named after the contract's
 * last segment. On a contract it cannot generate glue for, returns -1 with
 * the reason in err. */
int ppc_gen_js(FILE *f, const ppc_model *m, const char *const *names, size_t count,
               const char *impl, size_t impl_len, const char *impl_file, char *err, size_t errcap);

/* TypeScript declarations for the JS side of m. */
int ppc_gen_dts(FILE *f, const ppc_model *m);

#endif
