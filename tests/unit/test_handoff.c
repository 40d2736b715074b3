/* The double-buffered writer: the bytes come out whole and in order in
 * buffers of exactly `size` (the last shorter), with and without a thread;
 * one buffer's worth is never handed over, and a short output is passed on
 * inline; each chunk's CRC-32C is that of its bytes; the starting hook runs once, before the first
 * hand-over; a job's failure is kept and returned by the next write and by finish. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "handoff.h"

enum { SIZE = 4096, TOTAL = 10 * SIZE + 123 };

struct sinkrec {
    uint8_t out[TOTAL];
    size_t len;
    size_t chunk_len[16];
    int chunks;
    int64_t deadline[16];
    int starting_calls;
    int fail_at;    /* the chunk index that fails, or -1 */
    bool checksum;  /* the handoff keeps each chunk's CRC-32C */
    bool crc_wrong; /* a chunk's crc32c was not that of its bytes */
    pthread_t caller;
    bool ran_elsewhere; /* a chunk was passed on off the caller's thread */
};

static int run(void *ctx, struct handoff_chunk *c, struct error *err)
{
    struct sinkrec *r = ctx;
    if (!pthread_equal(pthread_self(), r->caller))
        r->ran_elsewhere = true;
    int i = r->chunks++;
    if (i == r->fail_at)
        return error_set(err, ERR_IO, "chunk %d failed", i);
    if (r->checksum && c->crc32c != crc32c_update(0, c->data.data, c->data.len))
        r->crc_wrong = true;
    r->chunk_len[i] = c->data.len;
    r->deadline[i] = c->deadline_ms;
    memcpy(r->out + r->len, c->data.data, c->data.len);
    r->len += c->data.len;
    return 0;
}

static int starting(void *ctx, struct error *err)
{
    (void)err;
    struct sinkrec *r = ctx;
    r->starting_calls++;
    return 0;
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + i / 251);
}

/* Writes `total` bytes in uneven pieces and finishes. */
static void write_all_in_pieces(bool threaded, size_t total, struct sinkrec *r)
{
    static uint8_t in[TOTAL];
    fill(in, total);
    r->caller = pthread_self();
    r->fail_at = -1;
    r->checksum = true;
    struct handoff h;
    struct error err = {0};
    handoff_init(&h, SIZE, threaded, run, starting, r);
    h.checksum = r->checksum;
    size_t done = 0;
    for (size_t step = 1; done < total; step = step * 3 + 1) {
        size_t n = step < total - done ? step : total - done;
        h.deadline_ms = (int64_t)done;
        assert_int_equal(handoff_write(&h, in + done, n, &err), 0);
        done += n;
        assert_true(h.chunk[0].data.cap <= SIZE + 1 && h.chunk[1].data.cap <= SIZE + 1);
    }
    assert_int_equal(handoff_finish(&h, &err), 0);
    handoff_free(&h);
    assert_int_equal(r->len, total);
    assert_memory_equal(r->out, in, total);
}

static void in_order_in_full_buffers(void **state)
{
    (void)state;
    for (int threaded = 0; threaded <= 1; threaded++) {
        struct sinkrec *r = calloc(1, sizeof *r);
        assert_non_null(r);
        write_all_in_pieces(threaded, TOTAL, r);
        assert_int_equal(r->chunks, 11);
        for (int i = 0; i < 10; i++)
            assert_int_equal(r->chunk_len[i], SIZE);
        assert_int_equal(r->chunk_len[10], 123);
        assert_int_equal(r->starting_calls, 1);
        /* Stamped at hand-over: the owner's deadline then, never earlier. */
        for (int i = 1; i < 11; i++)
            assert_true(r->deadline[i] >= r->deadline[i - 1]);
        assert_int_equal(r->ran_elsewhere, threaded == 1);
        assert_false(r->crc_wrong);
        free(r);
    }
}

static void one_buffer_is_never_handed_over(void **state)
{
    (void)state;
    struct sinkrec r = {.fail_at = -1, .caller = pthread_self()};
    uint8_t in[SIZE];
    fill(in, SIZE);
    struct handoff h;
    struct error err = {0};
    handoff_init(&h, SIZE, true, run, starting, &r);
    assert_int_equal(handoff_write(&h, in, SIZE, &err), 0);
    assert_false(handoff_started(&h));
    assert_int_equal(handoff_pending(&h)->data.len, SIZE);
    assert_memory_equal(handoff_pending(&h)->data.data, in, SIZE);
    /* Finished as it is: passed on inline, no thread, no starting hook. */
    assert_int_equal(handoff_finish(&h, &err), 0);
    handoff_free(&h);
    assert_int_equal(r.chunks, 1);
    assert_int_equal(r.starting_calls, 0);
    assert_false(r.ran_elsewhere);
    assert_memory_equal(r.out, in, SIZE);
}

static void nothing_written_passes_nothing_on(void **state)
{
    (void)state;
    struct sinkrec r = {.fail_at = -1, .caller = pthread_self()};
    struct handoff h;
    struct error err = {0};
    handoff_init(&h, SIZE, true, run, starting, &r);
    assert_int_equal(handoff_finish(&h, &err), 0);
    handoff_free(&h);
    assert_int_equal(r.chunks, 0);
}

static void a_failure_is_kept(void **state)
{
    (void)state;
    for (int threaded = 0; threaded <= 1; threaded++) {
        struct sinkrec *r = calloc(1, sizeof *r);
        assert_non_null(r);
        r->fail_at = 1;
        r->caller = pthread_self();
        static uint8_t in[TOTAL];
        fill(in, TOTAL);
        struct handoff h;
        struct error err = {0};
        handoff_init(&h, SIZE, threaded, run, starting, r);
        int rc = 0;
        for (size_t done = 0; done < TOTAL && rc == 0; done += SIZE / 2)
            rc = handoff_write(&h, in + done, TOTAL - done < SIZE / 2 ? TOTAL - done : SIZE / 2,
                               &err);
        if (rc == 0)
            rc = handoff_finish(&h, &err);
        assert_int_equal(rc, -1);
        assert_string_equal(err.message, "chunk 1 failed");
        /* Nothing after the failed chunk was passed on. */
        assert_int_equal(r->chunks, 2);
        struct error again = {0};
        assert_int_equal(handoff_finish(&h, &again), -1);
        handoff_free(&h);
        free(r);
    }
}

static int refuse(void *ctx, struct error *err)
{
    (void)ctx;
    return error_set(err, ERR_IO, "no upload client");
}

static void a_failed_start_hands_nothing_over(void **state)
{
    (void)state;
    struct sinkrec r = {.fail_at = -1, .caller = pthread_self()};
    uint8_t in[SIZE + 1];
    fill(in, sizeof in);
    struct handoff h;
    struct error err = {0};
    handoff_init(&h, SIZE, true, run, refuse, &r);
    assert_int_equal(handoff_write(&h, in, sizeof in, &err), -1);
    assert_string_equal(err.message, "no upload client");
    assert_false(handoff_started(&h));
    handoff_free(&h);
    assert_int_equal(r.chunks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order_in_full_buffers),
        cmocka_unit_test(one_buffer_is_never_handed_over),
        cmocka_unit_test(nothing_written_passes_nothing_on),
        cmocka_unit_test(a_failure_is_kept),
        cmocka_unit_test(a_failed_start_hands_nothing_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
