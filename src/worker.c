/* sched_getaffinity and CPU_COUNT */
#define _GNU_SOURCE
#include "worker.h"

#include <assert.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Reads the quota/period pair of a cgroup directory: v2's cpu.max ("max
 * 100000" or "50000 100000"), else v1's two files. Returns CPUs, or 0. */
static double quota_of(const char *dir)
{
    char path[PATH_MAX + 32];
    long long quota = 0, period = 0;
    snprintf(path, sizeof path, "%s/cpu.max", dir);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%lld %lld", &quota, &period) != 2)
            quota = 0; /* "max": no quota */
        fclose(f);
    } else {
        snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
        if ((f = fopen(path, "r"))) {
            if (fscanf(f, "%lld", &quota) != 1)
                quota = 0;
            fclose(f);
        }
        snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
        if ((f = fopen(path, "r"))) {
            if (fscanf(f, "%lld", &period) != 1)
                period = 0;
            fclose(f);
        }
    }
    return quota > 0 && period > 0 ? (double)quota / (double)period : 0;
}

/* Where a line's hierarchy is mounted under the cgroup root: "" for v2 (no
 * controllers named), "/NAMES" for a v1 hierarchy with the cpu controller
 * (mounted as "cpu" or "cpu,cpuacct"); false for any other hierarchy. */
static bool cpu_mount(const char *names, size_t len, char *mount, size_t cap)
{
    mount[0] = '\0';
    if (len == 0)
        return true;
    for (size_t i = 0; i < len;) {
        const char *comma = memchr(names + i, ',', len - i);
        size_t n = comma ? (size_t)(comma - (names + i)) : len - i;
        if (n == 3 && memcmp(names + i, "cpu", 3) == 0) {
            snprintf(mount, cap, "/%.*s", (int)len, names);
            return true;
        }
        i += n + 1;
    }
    return false;
}

double worker_cgroup_quota(const char *root, const char *proc_cgroup)
{
    /* Lines are "ID:CONTROLLERS:PATH"; the tightest quota of the cgroup and
     * its ancestors wins. */
    double cpus = 0;
    for (const char *line = proc_cgroup; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *c1 = memchr(line, ':', len);
        const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
        char mount[256], dir[PATH_MAX];
        if (c2 && cpu_mount(c1 + 1, (size_t)(c2 - c1 - 1), mount, sizeof mount)) {
            size_t base = strlen(root) + strlen(mount);
            int n = snprintf(dir, sizeof dir, "%s%s%.*s", root, mount,
                             (int)(len - (size_t)(c2 + 1 - line)), c2 + 1);
            while (n > 0 && (size_t)n < sizeof dir) {
                double q = quota_of(dir);
                if (q > 0 && (cpus == 0 || q < cpus))
                    cpus = q;
                char *slash = strrchr(dir, '/');
                if (!slash || (size_t)(slash - dir) < base)
                    break;
                *slash = '\0';
            }
        }
        line = end ? end + 1 : NULL;
    }
    return cpus;
}

static double cpus_cached;
static pthread_once_t cpus_once = PTHREAD_ONCE_INIT;

static void cpus_read(void)
{
    cpu_set_t set;
    double cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    char text[4096];
    FILE *f = fopen("/proc/self/cgroup", "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    double quota = worker_cgroup_quota("/sys/fs/cgroup", text);
    cpus_cached = quota > 0 && quota < cpus ? quota : cpus;
}

double worker_cpus(void)
{
    pthread_once(&cpus_once, cpus_read);
    return cpus_cached;
}

bool worker_parallel(void)
{
    return worker_cpus() >= WORKER_PARALLEL_CPUS;
}
