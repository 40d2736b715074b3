/* proc: runs the program under test (or any tool: openssl, node, unzip) as a
 * user would, in a child process, and captures what it writes.
 *
 * Guarantees: the child gets stdin from the given text (or /dev/null-like
 * EOF), stdout and stderr on pipes read to the end, and no other descriptor of
 * the test; it is waited for (never left a zombie) and killed with SIGKILL at
 * its timeout. A pipe, fork or poll failure, or running out of memory, fails
 * the running test with a message (checked.h). */
#ifndef BCR_TEST_PROC_H
#define BCR_TEST_PROC_H

#include <stdbool.h>
#include <stddef.h>

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

/* Path of the built program: $BCR_BIN, else build/backend-checks-results.
 * Points into the environment or a literal: not to be freed. */
const char *proc_bin(void);

struct proc_result {
    int status; /* exit status, or 128 + signal number */
    char *out;  /* everything written to stdout, NUL-terminated (owned) */
    size_t out_len;
    char *err; /* everything written to stderr, NUL-terminated (owned) */
    size_t err_len;
};

/* Runs argv (argv[0] is a path, NULL-terminated) with stdin from `input` (may
 * be NULL for none) and `env` (NULL-terminated "NAME=value" strings set on top
 * of the current environment; may be NULL). Kills it after timeout_s seconds
 * (then status is 128 + SIGKILL). argv, input and env are borrowed; *res is
 * filled and owned by the caller, freed with proc_result_free. */
void proc_run(char *const argv[], const char *input, char *const env[], int timeout_s,
              struct proc_result *res);
/* Frees res's buffers and zeroes it: safe to call twice. */
void proc_result_free(struct proc_result *res);

/* proc_run without input or extra environment, for a tool that must work
 * (openssl, unzip): true if it exits 0, else false after printing
 * "who: ARGV0 ARGV1 failed (exit N): STDERR" on stderr. */
bool proc_run_ok(char *const argv[], int timeout_s, const char *who);

/* proc_run without input, sending signo to the program once ready(ctx)
 * returns true (asked every 20 ms while it runs). sig is borrowed. */
struct proc_signal {
    int signo;
    bool (*ready)(void *ctx);
    void *ctx;
};
void proc_run_signal(char *const argv[], char *const env[], int timeout_s,
                     const struct proc_signal *sig, struct proc_result *res);

/* The last line of text (stderr's error document), copied into out (cap
 * bytes, NUL-terminated, cut short if it does not fit). */
void proc_last_line(const char *text, char *out, size_t cap);

#endif
