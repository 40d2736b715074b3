#include "worker.h"

#include <assert.h>
#include <signal.h>
#include <string.h>

/* Runs the oldest queued job, if the worker has not failed, and records the
 * outcome. Called with the lock held; the lock is dropped while the job runs,
 * so that the caller can fill its next buffer meanwhile. */
static void run_next(struct worker *w)
{
    assert(w->finished < w->submitted);
    void *job = w->queue[w->finished % w->depth];
    if (!w->failed) {
        struct error err;
        error_clear(&err);
        pthread_mutex_unlock(&w->lock);
        int rc = w->run(w->ctx, job, &err);
        pthread_mutex_lock(&w->lock);
        if (rc != 0) {
            w->failed = true;
            w->err = err;
        }
    }
    w->finished++;
    pthread_cond_broadcast(&w->cond);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->finished == w->submitted && !w->stop)
            pthread_cond_wait(&w->cond, &w->lock);
        if (w->finished == w->submitted)
            break;
        run_next(w);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int worker_start(struct worker *w, unsigned depth, bool threaded, worker_fn run, void *ctx,
                 struct error *err)
{
    assert(depth >= 1 && depth <= WORKER_DEPTH_MAX);
    memset(w, 0, sizeof *w); /* run stays NULL until set up: worker_stop does nothing */
    if (pthread_mutex_init(&w->lock, NULL) != 0)
        return error_set(err, ERR_OUT_OF_MEMORY, "cannot create a worker's lock");
    if (pthread_cond_init(&w->cond, NULL) != 0) {
        pthread_mutex_destroy(&w->lock);
        return error_set(err, ERR_OUT_OF_MEMORY, "cannot create a worker's condition variable");
    }
    w->run = run;
    w->ctx = ctx;
    w->depth = depth;
    /* SIGTERM and SIGINT are for the caller's thread (interrupt.h): one
     * delivered here would leave a blocking call there (a write to a pipe
     * nobody reads) uninterrupted. The thread inherits the mask. */
    sigset_t stop, was;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    bool masked = threaded && pthread_sigmask(SIG_BLOCK, &stop, &was) == 0;
    /* Without a thread every job runs inline: slower, never wrong. */
    w->threaded = threaded && pthread_create(&w->thread, NULL, worker_main, w) == 0;
    if (masked)
        pthread_sigmask(SIG_SETMASK, &was, NULL);
    return 0;
}

int worker_submit(struct worker *w, void *job, struct error *err)
{
    pthread_mutex_lock(&w->lock);
    while (w->submitted - w->finished >= w->depth)
        pthread_cond_wait(&w->cond, &w->lock);
    if (w->failed) {
        if (err)
            *err = w->err;
        pthread_mutex_unlock(&w->lock);
        return -1;
    }
    w->queue[w->submitted % w->depth] = job;
    w->submitted++;
    if (w->threaded)
        pthread_cond_broadcast(&w->cond);
    else
        run_next(w);
    bool failed = !w->threaded && w->failed;
    if (failed && err)
        *err = w->err;
    pthread_mutex_unlock(&w->lock);
    return failed ? -1 : 0;
}

uint64_t worker_finished(struct worker *w, uint64_t wait_for)
{
    pthread_mutex_lock(&w->lock);
    assert(wait_for <= w->submitted);
    while (w->finished < wait_for)
        pthread_cond_wait(&w->cond, &w->lock);
    uint64_t n = w->finished;
    pthread_mutex_unlock(&w->lock);
    return n;
}

bool worker_failed(struct worker *w, struct error *err)
{
    pthread_mutex_lock(&w->lock);
    bool failed = w->failed;
    if (failed && err)
        *err = w->err;
    pthread_mutex_unlock(&w->lock);
    return failed;
}

int worker_wait_idle(struct worker *w, struct error *err)
{
    worker_finished(w, w->submitted);
    return worker_failed(w, err) ? -1 : 0;
}

void worker_stop(struct worker *w)
{
    if (!w->run)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (w->threaded)
        pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    w->run = NULL;
}
