/* The command line under valgrind (memcheck): a small realistic export and a
 * few failures, with no memory error and no definite leak.
 *
 * The success run uses `valgrind --error-exitcode=1`: exit status 0 means the
 * program succeeded and valgrind found nothing. A failure run exits 1 by
 * itself, so there valgrind's error exit code is 99 and the test expects 1.
 * Skipped, with the reason, when valgrind is not installed or when the program
 * is built with AddressSanitizer (which valgrind cannot run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "proc.h"
#include "files.h"
#include "gen.h"

#define BUCKET "tdr-backend-checks-intg"

/* valgrind is slow; a small export still takes a few seconds. */
enum { TIMEOUT_S = 300 };

static const char *valgrind_path(void)
{
    static const char *const candidates[] = {"/usr/bin/valgrind", "/usr/local/bin/valgrind"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++)
        if (access(candidates[i], X_OK) == 0)
            return candidates[i];
    return NULL;
}

/* Skips (with the reason on stdout) when valgrind cannot run the program. */
static bool can_run(void)
{
    if (BUILT_WITH_ASAN) {
        print_message("skipped: the program is built with AddressSanitizer, which valgrind "
                      "cannot run (make test runs this; make sanitize covers the rest)\n");
        return false;
    }
    if (!valgrind_path()) {
        print_message("skipped: valgrind is not installed (apt-get install valgrind; "
                      "scripts/install-deps.sh installs it)\n");
        return false;
    }
    return true;
}

struct fixture {
    char *root;
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

/* Runs the program under valgrind on `event` with the fixture's store. */
static void run_valgrind(struct fixture *f, int error_exitcode, const char *transformation,
                         const char *event, struct proc_result *res)
{
    char exitcode[32];
    snprintf(exitcode, sizeof exitcode, "--error-exitcode=%d", error_exitcode);
    char *argv[] = {(char *)valgrind_path(),
                    "--quiet",
                    exitcode,
                    "--leak-check=full",
                    "--errors-for-leak-kinds=definite",
                    "--track-origins=yes",
                    (char *)proc_bin(),
                    "--store",
                    f->root,
                    "--transformation",
                    (char *)transformation,
                    "--require-complete", /* a manifest listing FAILED files is a failure path */
                    "-",
                    NULL};
    proc_run(argv, event, NULL, TIMEOUT_S, res);
}

/* valgrind's own lines start with ==PID==; with --quiet it writes them only
 * to report a problem. */
static bool valgrind_reported(const char *err)
{
    for (const char *line = err; line && *line; line = strchr(line, '\n'), line += !!line) {
        int pid, n = 0;
        if (sscanf(line, "==%d==%n", &pid, &n) == 1 && n > 0)
            return true;
    }
    return false;
}

/* Generates an export, runs it under valgrind, and checks that the run was
 * clean and wrote every entry. */
static void check_clean_export(struct fixture *f, const struct gen_export_spec *spec)
{
    struct gen_export_info info;
    gen_export(f->root, spec, NULL, &info);
    struct proc_result res;
    run_valgrind(f, 1, "NONE", info.event, &res);
    if (res.status != 0)
        fail_msg("valgrind or the program failed (status %d):\n%s", res.status, res.err);
    assert_false(valgrind_reported(res.err));
    json_t *reply = json_loads(res.out, 0, NULL);
    assert_non_null(reply);
    char path[4096];
    snprintf(path, sizeof path, "%s/" BUCKET "/%s", f->root,
             json_string_value(json_object_get(reply, "key")));
    json_t *doc = json_load_file(path, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "results")), spec->entries);
    json_decref(doc);
    json_decref(reply);
    proc_result_free(&res);
}

static void test_small_export_is_clean(void **state)
{
    if (!can_run())
        skip();
    struct gen_export_spec spec = {BUCKET, 300, 2, false, 11};
    check_clean_export(*state, &spec);
}

static void test_json_lines_export_is_clean(void **state)
{
    if (!can_run())
        skip();
    struct gen_export_spec spec = {BUCKET, 100, 1, true, 12};
    check_clean_export(*state, &spec);
}

static void put(struct fixture *f, const char *key, const char *text)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/" BUCKET "/%s", f->root, key);
    files_write(path, text, strlen(text));
}

#define EVENT                                                                                      \
    "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET "\", \"Key\": "               \
    "\"c/m.json\"}}}"

/* A failure: exit 1 from the program, not 99 from valgrind; the error type
 * as expected; nothing from valgrind on stderr. */
static void expect_clean_failure(struct fixture *f, const char *transformation, const char *event,
                                 const char *type)
{
    struct proc_result res;
    run_valgrind(f, 99, transformation, event, &res);
    if (res.status != 1 || valgrind_reported(res.err))
        fail_msg("expected exit 1 without valgrind errors, got %d:\n%s", res.status, res.err);
    char last[4096];
    proc_last_line(res.err, last, sizeof last);
    json_t *doc = json_loads(last, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "errorType")), type);
    json_decref(doc);
    proc_result_free(&res);
}

static void test_failures_are_clean(void **state)
{
    if (!can_run())
        skip();
    struct fixture *f = *state;
    put(f, ".keep", "");
    expect_clean_failure(f, "NONE", "{\"results\": [", "InvalidEvent");
    expect_clean_failure(f, "NONE", EVENT, "NoSuchKey");
    put(f, "c/m.json", "{\"ResultFiles\": {\"FAILED\": [{\"Key\": \"x\"}], \"SUCCEEDED\": []}}");
    expect_clean_failure(f, "NONE", EVENT, "IncompleteMapRun");
    put(f, "c/m.json",
        "{\"ResultFiles\": {\"SUCCEEDED\": [{\"Key\": \"r/0.json\"}, "
        "{\"Key\": \"r/1.json\"}]}}");
    put(f, "r/0.json", "[{\"Output\": \"{\\\"a\\\": [1, 2]}\"}, {\"Output\": \"\\\"x\\\"\"}]");
    put(f, "r/1.json", "[{\"Name\": \"e\", \"Output\": \"{\\\"a\\\": NaN}\"}]");
    expect_clean_failure(f, "NONE", EVENT, "InvalidOutput");
    put(f, "r/1.json", "[{\"Output\": \"1\"}, ");
    expect_clean_failure(f, "NONE", EVENT, "InvalidResultFile");
    put(f, "r/1.json", "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]] [");
    expect_clean_failure(f, "COMPACT", EVENT, "InvalidResultFile");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_small_export_is_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_lines_export_is_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_are_clean, setup, teardown),
    };
    return cmocka_run_group_tests_name("valgrind", tests, NULL, NULL);
}
