/* The worker: jobs run in submission order, at most `depth` outstanding, the
 * first failure wins and skips what follows; the same with and without a
 * thread. And the CPU it counts on: the cgroup quota read from a directory
 * laid out as /sys/fs/cgroup is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "worker.h"

enum { JOBS = 2000 };

struct record {
    struct worker *w;
    int ran[JOBS]; /* job ids in the order they ran */
    int count;
    int fail_at; /* the job id that fails, or -1 */
    uint64_t max_outstanding;
};

static int run_job(void *ctx, void *job, struct error *err)
{
    struct record *r = ctx;
    int id = *(int *)job;
    r->ran[r->count++] = id;
    /* The caller is blocked in submit whenever depth jobs are out, so this
     * read of its counters cannot exceed depth unless the bound is broken. */
    pthread_mutex_lock(&r->w->lock);
    uint64_t out = r->w->submitted - r->w->finished;
    pthread_mutex_unlock(&r->w->lock);
    if (out > r->max_outstanding)
        r->max_outstanding = out;
    if (id == r->fail_at)
        return error_set(err, ERR_IO, "job %d failed", id);
    return 0;
}

static void run_all(bool threaded, unsigned depth, int fail_at)
{
    static int ids[JOBS];
    struct worker w;
    struct record r = {.w = &w, .fail_at = fail_at};
    struct error err;
    error_clear(&err);
    assert_int_equal(worker_start(&w, depth, threaded, run_job, &r, &err), 0);
    int refused = -1;
    for (int i = 0; i < JOBS; i++) {
        ids[i] = i;
        if (worker_submit(&w, &ids[i], &err) != 0) {
            refused = i;
            break;
        }
    }
    int idle = worker_wait_idle(&w, &err);
    worker_stop(&w);
    worker_stop(&w); /* twice is harmless */

    for (int i = 0; i < r.count; i++)
        assert_int_equal(r.ran[i], i);
    assert_true(r.max_outstanding <= depth);
    if (fail_at < 0) {
        assert_int_equal(refused, -1);
        assert_int_equal(idle, 0);
        assert_int_equal(r.count, JOBS);
        return;
    }
    /* Nothing after the failed job ran, and the error is the first one. */
    assert_int_equal(r.count, fail_at + 1);
    assert_int_equal(idle, -1);
    assert_string_equal(err.type, ERR_IO);
    char want[32];
    snprintf(want, sizeof want, "job %d failed", fail_at);
    assert_string_equal(err.message, want);
    assert_true(refused > fail_at - (threaded ? 0 : 1));
}

static void test_in_order_threaded(void **state)
{
    (void)state;
    run_all(true, 1, -1);
    run_all(true, 4, -1);
}

static void test_in_order_inline(void **state)
{
    (void)state;
    run_all(false, 1, -1);
    run_all(false, 4, -1);
}

static void test_first_error_wins(void **state)
{
    (void)state;
    run_all(true, 1, 7);
    run_all(true, 4, 7);
    run_all(false, 1, 7);
    run_all(false, 4, 0);
}

static void test_finished_counts(void **state)
{
    (void)state;
    static int ids[5];
    struct worker w;
    struct record r = {.w = &w, .fail_at = -1};
    assert_int_equal(worker_start(&w, 2, true, run_job, &r, NULL), 0);
    for (int i = 0; i < 5; i++) {
        ids[i] = i;
        assert_int_equal(worker_submit(&w, &ids[i], NULL), 0);
    }
    assert_true(worker_finished(&w, 3) >= 3);
    assert_int_equal(worker_finished(&w, 5), 5);
    assert_false(worker_failed(&w, NULL));
    worker_stop(&w);
}

/* Writes `text` to root/rel, making the directories on the way. */
static void put(const char *root, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_cgroup_quota(void **state)
{
    (void)state;
    char root[] = "/tmp/bcr-cgroup-XXXXXX";
    assert_non_null(mkdtemp(root));

    /* v1, as Lambda-like sandboxes and this bench lay it out: cpu with cpuacct. */
    put(root, "cpu,cpuacct/fn/cpu.cfs_quota_us", "14471\n");
    put(root, "cpu,cpuacct/fn/cpu.cfs_period_us", "100000\n");
    const char *v1 = "5:memory:/fn\n3:cpu,cpuacct:/fn\n1:name=systemd:/\n0::/\n";
    assert_float_equal(worker_cgroup_quota(root, v1), 0.14471, 1e-9);
    /* A tighter parent wins; an unlimited one (-1) does not count. */
    put(root, "cpu,cpuacct/fn/inner/cpu.cfs_quota_us", "-1\n");
    put(root, "cpu,cpuacct/fn/inner/cpu.cfs_period_us", "100000\n");
    assert_float_equal(worker_cgroup_quota(root, "3:cpu,cpuacct:/fn/inner\n"), 0.14471, 1e-9);
    /* A hierarchy without the cpu controller (cpuset, cpuacct alone) is not read. */
    assert_float_equal(worker_cgroup_quota(root, "4:cpuacct:/fn\n2:cpuset:/fn\n"), 0, 0);

    /* v2: cpu.max, "max" for none. */
    put(root, "v2/a/cpu.max", "max 100000\n");
    put(root, "v2/a/b/cpu.max", "57887 100000\n");
    char v2root[64];
    snprintf(v2root, sizeof v2root, "%s/v2", root);
    assert_float_equal(worker_cgroup_quota(v2root, "0::/a\n"), 0, 0);
    assert_float_equal(worker_cgroup_quota(v2root, "0::/a/b\n"), 0.57887, 1e-9);
    /* No such cgroup, or nothing readable: no quota. */
    assert_float_equal(worker_cgroup_quota(v2root, "0::/gone\n"), 0, 0);
    assert_float_equal(worker_cgroup_quota(v2root, ""), 0, 0);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

/* This process's own reading: positive, at most its CPUs, and the same twice. */
static void test_cpus_of_this_process(void **state)
{
    (void)state;
    double cpus = worker_cpus();
    assert_true(cpus > 0);
    assert_true(cpus <= (double)sysconf(_SC_NPROCESSORS_ONLN));
    assert_true(worker_cpus() == cpus);
    assert_true(worker_parallel() == (cpus >= WORKER_PARALLEL_CPUS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_threaded), cmocka_unit_test(test_in_order_inline),
        cmocka_unit_test(test_first_error_wins),  cmocka_unit_test(test_finished_counts),
        cmocka_unit_test(test_cgroup_quota),      cmocka_unit_test(test_cpus_of_this_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
