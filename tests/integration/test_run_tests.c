/* scripts/run-tests.sh's time limit, checked. The hanging binary is this
 * file, run again with HANG_PIDFILE set: one test case passes, the next
 * starts a child that ignores SIGTERM and holds the output pipe, then waits
 * forever. Under TEST_TIMEOUT=2 the script must stop it, name it and the test
 * case that hung, count it failed, run the next binary, and leave neither
 * process alive. Without the limit the script would hang (the run here is
 * killed at 60 s and fails); without the kill of the process group the child
 * would survive, and the script would wait on its pipe. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "files.h"
#include "proc.h"

#define HANG_PIDFILE "BCR_TEST_HANG_PIDFILE"

/* ---- the hanging binary */

static void test_finishes(void **state)
{
    (void)state;
}

static void test_hangs(void **state)
{
    (void)state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        signal(SIGTERM, SIG_IGN);
        for (;;)
            pause();
    }
    char pids[64];
    int n = snprintf(pids, sizeof pids, "%d %d\n", (int)getpid(), (int)child);
    files_write(getenv(HANG_PIDFILE), pids, (size_t)n);
    for (;;)
        pause();
}

/* ---- the check */

/* scripts/run-tests.sh below the working directory (the repository root, as
 * `make test` runs), else beside the built program. */
static void script_path(char *out, size_t cap)
{
    if (access("scripts/run-tests.sh", X_OK) == 0) {
        snprintf(out, cap, "scripts/run-tests.sh");
        return;
    }
    const char *bin = proc_bin();
    const char *slash = strrchr(bin, '/');
    snprintf(out, cap, "%.*s/../scripts/run-tests.sh", slash ? (int)(slash - bin) : 1,
             slash ? bin : ".");
}

/* Gone: no such process, or a zombie nobody reaped yet (PID 1 of a container
 * may not reap orphans). */
static bool gone(pid_t pid)
{
    if (kill(pid, 0) != 0)
        return errno == ESRCH;
    char path[64], state = '?';
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    char *stat = files_read(path, NULL);
    const char *paren = stat ? strrchr(stat, ')') : NULL;
    if (paren && paren[1] == ' ')
        state = paren[2];
    free(stat);
    return state == 'Z' || state == 'X';
}

static void test_a_hang_is_named_and_its_process_group_killed(void **state)
{
    (void)state;
    char script[PATH_MAX], self[PATH_MAX];
    script_path(script, sizeof script);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    char *dir = files_tmpdir();
    char pidfile[PATH_MAX + 16], pidfile_env[PATH_MAX + 64];
    snprintf(pidfile, sizeof pidfile, "%s/pids", dir);
    snprintf(pidfile_env, sizeof pidfile_env, "%s=%s", HANG_PIDFILE, pidfile);
    char *env[] = {"TEST_TIMEOUT=2", pidfile_env, NULL};
    char *argv[] = {script, (char *)proc_bin(), self, "/bin/true", NULL};
    struct proc_result res;
    proc_run(argv, NULL, env, 60, &res);

    /* Which of the two outlived the script; survivors are killed here, before
     * any assertion, so that a failing check leaves nothing behind either. */
    int hung = 0, child = 0;
    char *pids = files_read(pidfile, NULL);
    if (pids)
        sscanf(pids, "%d %d", &hung, &child);
    free(pids);
    files_rmtree(dir);
    free(dir);
    bool hung_gone = hung > 0 && gone(hung), child_gone = child > 0 && gone(child);
    if (hung > 0 && !hung_gone)
        kill(hung, SIGKILL);
    if (child > 0 && !child_gone)
        kill(child, SIGKILL);

    if (res.status != 1)
        fprintf(stderr, "run-tests.sh: exit %d\n%s\n%s\n", res.status, res.out, res.err);
    assert_int_equal(res.status, 1);
    char expected[PATH_MAX + 128];
    snprintf(expected, sizeof expected, "\ntimeout: %s ran past TEST_TIMEOUT=2s in test_hangs\n",
             self);
    assert_non_null(strstr(res.out, "[       OK ] test_finishes\n"));
    assert_non_null(strstr(res.out, expected));
    assert_non_null(strstr(res.out, "\n== /bin/true\n"));
    assert_non_null(strstr(res.out, "\ntests: 1 passed, 1 failed\n"));
    assert_true(hung > 0 && child > 0);
    assert_true(hung_gone);
    assert_true(child_gone);
    proc_result_free(&res);
}

static void test_timeout_must_be_seconds(void **state)
{
    (void)state;
    char script[PATH_MAX];
    script_path(script, sizeof script);
    char *env[] = {"TEST_TIMEOUT=15m", NULL};
    char *argv[] = {script, (char *)proc_bin(), "/bin/true", NULL};
    struct proc_result res;
    proc_run(argv, NULL, env, 60, &res);
    assert_int_equal(res.status, 2);
    assert_non_null(strstr(res.err, "TEST_TIMEOUT must be a number of seconds"));
    assert_null(strstr(res.out, "== /bin/true"));
    proc_result_free(&res);
}

int main(void)
{
    if (getenv(HANG_PIDFILE)) {
        const struct CMUnitTest hanging[] = {
            cmocka_unit_test(test_finishes),
            cmocka_unit_test(test_hangs),
        };
        return cmocka_run_group_tests(hanging, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_hang_is_named_and_its_process_group_killed),
        cmocka_unit_test(test_timeout_must_be_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
