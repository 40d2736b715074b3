#include "handoff.h"

#include <assert.h>
#include <string.h>

#include "crc32c.h"

void handoff_init(struct handoff *h, size_t size, bool threaded, handoff_run_fn run,
                  handoff_starting_fn starting, void *ctx)
{
    assert(size > 0);
    memset(h, 0, sizeof *h);
    h->size = size;
    h->threaded = threaded;
    h->run = run;
    h->starting = starting;
    h->ctx = ctx;
    buf_init(&h->chunk[0].data, size);
    buf_init(&h->chunk[1].data, size);
    h->filling = &h->chunk[0];
}

/* The worker's job: the owner's run on one chunk. */
static int run_chunk(void *ctx, void *job, struct error *err)
{
    const struct handoff *h = ctx;
    return h->run(h->ctx, job, err);
}

/* Hands the filling buffer over (starting the worker for the first) and
 * switches to the other one, which depth 1 guarantees the worker is done
 * with. */
static int hand_over(struct handoff *h, struct error *err)
{
    if (!h->started) {
        if (h->starting && h->starting(h->ctx, err) != 0)
            return -1;
        if (worker_start(&h->worker, 1, h->threaded, run_chunk, h, err) != 0)
            return -1;
        h->started = true;
    }
    struct handoff_chunk *c = h->filling;
    c->deadline_ms = h->deadline_ms;
    if (worker_submit(&h->worker, c, err) != 0)
        return -1;
    h->filling = c == &h->chunk[0] ? &h->chunk[1] : &h->chunk[0];
    buf_reset(&h->filling->data);
    h->filling->crc32c = 0;
    return 0;
}

int handoff_write(struct handoff *h, const void *p, size_t n, struct error *err)
{
    const uint8_t *bytes = p;
    while (n > 0) {
        struct buf *b = &h->filling->data;
        if (b->len == h->size) {
            if (hand_over(h, err) != 0)
                return -1;
            b = &h->filling->data;
        }
        size_t room = h->size - b->len;
        size_t take = n < room ? n : room;
        if (buf_append(b, bytes, take, err) != BUF_OK) {
            if (!error_is_set(err)) /* BUF_FULL cannot happen: take fits */
                error_set(err, ERR_OUT_OF_MEMORY, "out of memory buffering %zu bytes", take);
            return -1;
        }
        if (h->checksum)
            h->filling->crc32c = crc32c_update(h->filling->crc32c, bytes, take);
        bytes += take;
        n -= take;
    }
    return 0;
}

int handoff_finish(struct handoff *h, struct error *err)
{
    int rc = 0;
    if (!h->started) {
        if (h->filling->data.len > 0) {
            h->filling->deadline_ms = h->deadline_ms;
            rc = h->run(h->ctx, h->filling, err);
        }
    } else if (h->filling->data.len > 0 && hand_over(h, err) != 0) {
        rc = -1;
    } else {
        rc = worker_wait_idle(&h->worker, err);
    }
    handoff_stop(h);
    return rc;
}

void handoff_stop(struct handoff *h)
{
    if (h->started)
        worker_stop(&h->worker);
}

void handoff_free(struct handoff *h)
{
    handoff_stop(h);
    buf_free(&h->chunk[0].data);
    buf_free(&h->chunk[1].data);
}
