/* The worker: jobs run in submission order, at most `depth` outstanding, the
 * first failure wins and skips what follows; the same with and without a
 * thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_threaded),
        cmocka_unit_test(test_in_order_inline),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_finished_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
