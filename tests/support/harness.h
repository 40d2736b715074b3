/* Test harness: runs the program as a user would, with temporary stores and
 * generated exports. Shared by the unit and integration tests. */
#ifndef BCR_TEST_HARNESS_H
#define BCR_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 1 when this test (and so the program, built alike) uses AddressSanitizer:
 * valgrind cannot run such a program, its memory use is not the product's,
 * and its runtime needs the /proc that a bare root lacks. */
#if defined(__SANITIZE_ADDRESS__)
#define BUILT_WITH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUILT_WITH_ASAN 1
#endif
#endif
#ifndef BUILT_WITH_ASAN
#define BUILT_WITH_ASAN 0
#endif

/* Path of the built program: $BCR_BIN, else build/backend-checks-results. */
const char *harness_bin(void);

struct run_result {
    int status; /* exit status, or 128 + signal number */
    char *out;  /* everything written to stdout, NUL-terminated (owned) */
    size_t out_len;
    char *err; /* everything written to stderr, NUL-terminated (owned) */
    size_t err_len;
};

/* Runs argv (argv[0] is a path, NULL-terminated) with stdin from `input` (may
 * be NULL for /dev/null) and `env` (NULL-terminated "NAME=value" strings set on
 * top of the current environment; may be NULL). Kills it after timeout_s
 * seconds (then status is 128 + SIGKILL). */
void harness_run(char *const argv[], const char *input, char *const env[], int timeout_s,
                 struct run_result *res);
void run_result_free(struct run_result *res);

/* harness_run without input, sending signo to the program once ready(ctx)
 * returns true (asked every 20 ms while it runs). */
struct harness_signal {
    int signo;
    bool (*ready)(void *ctx);
    void *ctx;
};
void harness_run_signal(char *const argv[], char *const env[], int timeout_s,
                        const struct harness_signal *sig, struct run_result *res);

/* The last line of stderr (the error document), copied into out. */
void harness_last_line(const char *text, char *out, size_t cap);

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); caller frees the
 * string and removes the tree with harness_rmtree. */
char *harness_tmpdir(void);
void harness_rmtree(const char *path);

/* Writes / reads whole files. harness_read_file returns NULL if missing;
 * caller frees. Parents are created by harness_write_file. */
void harness_write_file(const char *path, const void *data, size_t len);
char *harness_read_file(const char *path, size_t *len);

/* JSON nested `depth` deep: arrays, or objects {"a": ...} around a 1.
 * Caller frees; aborts if memory runs out. */
char *harness_nested_json(int depth, bool objects);

/* Number of regular files below dir, recursively (to check nothing was written). */
int harness_count_files(const char *dir);

/* A generated, realistic Distributed Map export in a directory store. */
struct export_spec {
    const char *bucket; /* default "tdr-backend-checks-intg" */
    uint64_t entries;
    int files;  /* SUCCEEDED files, entries split evenly; >= 1 */
    bool jsonl; /* JSON Lines instead of a JSON array */
    uint32_t seed;
};

struct export_info {
    char event[4096]; /* the invocation event (JSON) */
    char manifest_key[1024];
    char consignment_id[64];
};

/* Writes manifest and result files under root/bucket. If expected_path is not
 * NULL, also writes there the outputs results.json must hold, one compact JSON
 * value per line, in order. */
void harness_generate_export(const char *root, const struct export_spec *spec,
                             const char *expected_path, struct export_info *info);

#endif
