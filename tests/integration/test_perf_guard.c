/* Guards against performance regressions that cannot flake on a noisy machine:
 * no wall-clock assertion, only quantities that do not depend on the load.
 *
 *  - Peak memory: the command line on a generated export of 20,000 entries
 *    (about 35 MB in two result files) peaks at most 16 MiB of RSS (wait4's
 *    ru_maxrss), and no more than 2 MiB above a 2,000-entry export: memory
 *    must not grow with the export.
 *  - Work: the instructions executed inside step_run and the result reader's
 *    worker thread (callgrind's --toggle-collect, so start-up and library
 *    initialisation do not count)
 *    on a fixed 2,000-entry export stay within INSTRUCTION_BUDGET, about 25%
 *    above what the step needs today. A slower scanner, an extra copy of every
 *    byte or a per-entry allocation shows up here. Skipped, with the reason,
 *    when valgrind is missing, when the program is built without optimisation
 *    (the budget is for -O2) or with AddressSanitizer.
 *
 *  - Manifest memory: the largest manifest accepted (16 MiB) listing as many
 *    tiny SUCCEEDED entries as fit peaks at most MANIFEST_RSS_CEILING_KIB.
 *
 * The export generator is deterministic (seeded), so both numbers are
 * reproducible; `make bench` measures time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mem.h"
#include "proc.h"
#include "files.h"
#include "gen.h"

#define BUCKET "tdr-backend-checks-intg"

/* The ceiling for the directory store. */
#define RSS_CEILING_KIB (16L * 1024)
/* How much more a 10x larger export may take (allocator noise, not growth). */
#define RSS_GROWTH_KIB (2L * 1024)
/* Instructions inside step_run and the result reader's worker thread for the
 * 2,000-entry export below (2 files, seed 7): measured 42.86 M with gcc 12 -O2
 * on x86-64 (the same to 0.01% from run to run; 41.73 M before non-ASCII
 * characters were escaped: the export's paths hold some); budget +25%. The
 * scanner before the block decoder took 67.6 M and would fail here. Lower the
 * budget when the step gets cheaper. */
#define INSTRUCTION_BUDGET 53600000ULL
/* README's bound for the worst manifest (a tree of it took about 350 MiB). */
#define MANIFEST_RSS_CEILING_KIB (64L * 1024)

struct fixture {
    char *root;
    char event_path[4200];
};

static int setup(void **state)
{
    struct fixture *f = mem_check(calloc(1, sizeof *f));
    f->root = files_tmpdir();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    files_rmtree(f->root);
    free(f->root);
    free(f);
    return 0;
}

/* Generates an export of `entries` in two files under the fixture's root
 * (store subdirectory `name`); writes the event to a file. Returns the store. */
static char *make_export(struct fixture *f, const char *name, uint64_t entries)
{
    char *store = mem_check(malloc(4200));
    snprintf(store, 4200, "%s/%s", f->root, name);
    struct gen_export_spec spec = {BUCKET, entries, 2, false, 7};
    struct gen_export_info info;
    gen_export(store, &spec, NULL, &info);
    snprintf(f->event_path, sizeof f->event_path, "%s/%s.event", f->root, name);
    files_write(f->event_path, info.event, strlen(info.event));
    return store;
}

/* Runs argv with stdin, stdout and stderr on /dev/null (stderr to err_path if
 * not NULL); returns the exit status (-1 if it did not exit) and the peak RSS
 * in KiB of that process alone. */
static int run_measured(char *const argv[], const char *err_path, long *maxrss_kib)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        int err = err_path ? open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : null;
        dup2(null, 0);
        dup2(null, 1);
        dup2(err, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    assert_true(wait4(pid, &status, 0, &ru) == pid);
    *maxrss_kib = ru.ru_maxrss;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static long peak_rss_kib(struct fixture *f, const char *store)
{
    char *argv[] = {(char *)proc_bin(), "--store", (char *)store, f->event_path, NULL};
    long kib;
    int status = run_measured(argv, NULL, &kib);
    if (status != 0)
        fail_msg("%s exited with %d on the export in %s", argv[0], status, store);
    return kib;
}

static void test_peak_rss_is_bounded_and_flat(void **state)
{
    if (BUILT_WITH_ASAN) {
        print_message("skipped: AddressSanitizer's shadow memory is not the program's\n");
        skip();
    }
    struct fixture *f = *state;
    char *small = make_export(f, "small", 2000);
    long small_kib = peak_rss_kib(f, small);
    char *large = make_export(f, "large", 20000);
    long large_kib = peak_rss_kib(f, large);
    print_message("peak RSS: %ld KiB for 2,000 entries, %ld KiB for 20,000 (ceiling %ld KiB)\n",
                  small_kib, large_kib, RSS_CEILING_KIB);
    if (large_kib > RSS_CEILING_KIB)
        fail_msg("peak RSS %ld KiB on 20,000 entries is over the %ld KiB ceiling", large_kib,
                 RSS_CEILING_KIB);
    if (large_kib > small_kib + RSS_GROWTH_KIB)
        fail_msg("peak RSS grows with the export: %ld KiB for 2,000 entries, %ld KiB for "
                 "20,000",
                 small_kib, large_kib);
    free(small);
    free(large);
}

/* A 16 MiB manifest of about 1.4 million {"Key":"x"} entries: read whole, then
 * the run stops at the first (missing) result file. */
static void test_worst_manifest_memory(void **state)
{
    if (BUILT_WITH_ASAN) {
        print_message("skipped: AddressSanitizer's shadow memory is not the program's\n");
        skip();
    }
    struct fixture *f = *state;
    static const char head[] = "{\"ResultFiles\":{\"SUCCEEDED\":[", entry[] = "{\"Key\":\"x\"},",
                      tail[] = "{\"Key\":\"x\"}]}}";
    const size_t max = 16u * 1024 * 1024;
    size_t n = (max - (sizeof head - 1) - (sizeof tail - 1)) / (sizeof entry - 1);
    size_t len = (sizeof head - 1) + n * (sizeof entry - 1) + (sizeof tail - 1);
    char *text = mem_check(malloc(len)), *p = text;
    memcpy(p, head, sizeof head - 1);
    p += sizeof head - 1;
    for (size_t i = 0; i < n; i++, p += sizeof entry - 1)
        memcpy(p, entry, sizeof entry - 1);
    memcpy(p, tail, sizeof tail - 1);
    char path[4400], store[4300];
    snprintf(store, sizeof store, "%s/worst", f->root);
    snprintf(path, sizeof path, "%s/" BUCKET "/c/m.json", store);
    files_write(path, text, len);
    free(text);
    static const char event[] = "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET
                                "\", \"Key\": \"c/m.json\"}}}";
    snprintf(f->event_path, sizeof f->event_path, "%s/worst.event", f->root);
    files_write(f->event_path, event, sizeof event - 1);
    char err_path[4300];
    snprintf(err_path, sizeof err_path, "%s/worst.err", f->root);
    char *argv[] = {(char *)proc_bin(), "--store", store, f->event_path, NULL};
    long kib;
    int status = run_measured(argv, err_path, &kib);
    char *err = files_read(err_path, NULL);
    print_message("peak RSS: %ld KiB for a %zu-byte manifest of %zu entries (ceiling %ld KiB)\n",
                  kib, len, n + 1, MANIFEST_RSS_CEILING_KIB);
    /* It got past the manifest: the first result file is missing. */
    if (status != 1 || !err || !strstr(err, "NoSuchKey"))
        fail_msg("expected NoSuchKey for the result file, got status %d:\n%s", status,
                 err ? err : "");
    free(err);
    if (kib > MANIFEST_RSS_CEILING_KIB)
        fail_msg("peak RSS %ld KiB reading the worst manifest is over the %ld KiB ceiling", kib,
                 MANIFEST_RSS_CEILING_KIB);
}

static const char *valgrind_path(void)
{
    static const char *const candidates[] = {"/usr/bin/valgrind", "/usr/local/bin/valgrind"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++)
        if (access(candidates[i], X_OK) == 0)
            return candidates[i];
    return NULL;
}

/* callgrind's output file has a "totals: N" (older: "summary: N") line. */
static unsigned long long callgrind_total(const char *path)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return 0;
    char line[512];
    unsigned long long total = 0;
    while (fgets(line, sizeof line, in))
        if (sscanf(line, "totals: %llu", &total) == 1 || sscanf(line, "summary: %llu", &total) == 1)
            break;
    fclose(in);
    return total;
}

static void test_instructions_within_budget(void **state)
{
#ifndef __OPTIMIZE__
    print_message("skipped: built without optimisation; the budget is for an -O2 build\n");
    skip();
#endif
    if (BUILT_WITH_ASAN) {
        print_message("skipped: built with AddressSanitizer, which valgrind cannot run\n");
        skip();
    }
    if (!valgrind_path()) {
        print_message("skipped: valgrind is not installed (apt-get install valgrind)\n");
        skip();
    }
    struct fixture *f = *state;
    char *store = make_export(f, "fixed", 2000);
    char out_opt[4400], out_path[4300], err_path[4300];
    snprintf(out_path, sizeof out_path, "%s/callgrind.out", f->root);
    snprintf(out_opt, sizeof out_opt, "--callgrind-out-file=%s", out_path);
    snprintf(err_path, sizeof err_path, "%s/callgrind.err", f->root);
    char *argv[] = {(char *)valgrind_path(),
                    "--tool=callgrind",
                    out_opt,
                    "--toggle-collect=step_run",
                    "--toggle-collect=worker_main",
                    (char *)proc_bin(),
                    "--store",
                    store,
                    f->event_path,
                    NULL};
    long kib;
    int status = run_measured(argv, err_path, &kib);
    if (status != 0) {
        char *err = files_read(err_path, NULL);
        fail_msg("callgrind run failed (status %d):\n%s", status, err ? err : "");
    }
    unsigned long long total = callgrind_total(out_path);
    print_message("instructions in the step: %llu for 2,000 entries (budget %llu)\n", total,
                  INSTRUCTION_BUDGET);
    if (total == 0)
        fail_msg("no instruction count in %s (is step_run in the binary's symbols?)", out_path);
    if (total > INSTRUCTION_BUDGET)
        fail_msg("step_run executed %llu instructions on the fixed 2,000-entry export, over the "
                 "budget of %llu: something got slower (profile it: valgrind --tool=callgrind)",
                 total, INSTRUCTION_BUDGET);
    free(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_peak_rss_is_bounded_and_flat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instructions_within_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worst_manifest_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
