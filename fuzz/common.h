/* Shared by the fuzz targets (fuzz/fuzz_*.c): the libFuzzer entry points, a
 * check that aborts with a message (every broken invariant is a finding), and
 * a sink that collects everything written to it. */
#ifndef BCR_FUZZ_COMMON_H
#define BCR_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "memsink.h"
#include "sink.h"

/* What libFuzzer calls; declared here for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Aborts (a libFuzzer finding, with the input saved) unless cond holds. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                     \
    } while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A heap copy of data with no terminating NUL and no slack, so a read past the
 * end is caught by AddressSanitizer. Caller frees. */
char *fuzz_exact_copy(const uint8_t *data, size_t size);

/* A NUL-terminated heap copy. Caller frees. */
char *fuzz_cstring(const uint8_t *data, size_t size);

/* Checks the invariants every error must keep: a known-length, NUL-terminated
 * type and message, and an error document (the CLI's and the Lambda reply's
 * last line) that is one valid JSON object of exactly two strings. */
void fuzz_check_error(const struct error *err, const char *const allowed_types[]);

/* True if [p, p + n) is valid UTF-8 (RFC 3629). */
bool fuzz_utf8_valid(const uint8_t *p, size_t n);

#endif
