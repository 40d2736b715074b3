/* worker: one background thread that runs jobs in the order they are handed
 * to it, so that the caller prepares the next job while the last one runs: a
 * buffer written to a file, an S3 part uploaded, a batch of Outputs validated.
 *
 * Guarantees:
 * - Jobs run one at a time, in submission order; job n (counted from 0) is
 *   finished exactly when worker_finished() > n.
 * - At most `depth` jobs are queued or running: worker_submit waits for room,
 *   which is how the caller's buffers are bounded.
 * - The first job that fails (its function returns non-zero) is kept as the
 *   worker's error; the jobs after it are skipped (counted as finished, not
 *   run) and every later submit fails with that error. First error wins.
 * - Without a thread (worker_start could not create one, or `threaded` was
 *   false) the same calls run each job inline, in worker_submit.
 * - The thread blocks SIGTERM and SIGINT, so they reach the caller's thread
 *   and interrupt its blocking calls (interrupt.h).
 *
 * Ownership: the worker borrows `ctx` and every job pointer; a job belongs to
 * the worker from worker_submit until it is finished, and the caller must not
 * touch it in between. The struct is the caller's; only one thread (the
 * caller's) may call these functions. */
#ifndef BCR_WORKER_H
#define BCR_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

enum { WORKER_DEPTH_MAX = 8 };

/* Runs one job, on the worker's thread (or inline in worker_submit). The
 * owner's code: a store_dir chunk write, an S3 part upload on its own
 * connection (which blocks, retries and sleeps), a batch of Outputs
 * validated. Its error becomes the worker's first error, returned by the
 * owner's next worker_submit or worker_wait_idle on the caller's thread.
 * Returns 0, or non-zero with err set. */
typedef int (*worker_fn)(void *ctx, void *job, struct error *err);

struct worker {
    worker_fn run;
    void *ctx;
    unsigned depth;
    bool threaded; /* the thread runs */
    pthread_t thread;
    pthread_mutex_t lock; /* guards what follows */
    pthread_cond_t cond;  /* broadcast whenever any of it changes */
    void *queue[WORKER_DEPTH_MAX];
    uint64_t submitted; /* jobs handed over so far */
    uint64_t finished;  /* jobs run (or skipped after a failure) so far */
    bool stop;
    bool failed;
    struct error err; /* the first failure, when failed */
};

/* Sets the worker up for jobs of `run` and, if `threaded`, starts its thread
 * (falling back to running jobs inline if the thread cannot be created).
 * 1 <= depth <= WORKER_DEPTH_MAX. Returns 0, or -1 with err set if the
 * synchronisation objects cannot be created. */
int worker_start(struct worker *w, unsigned depth, bool threaded, worker_fn run, void *ctx,
                 struct error *err);

/* Hands `job` over, after waiting for room. Returns 0, or -1 with the
 * worker's first error: an earlier job failed (this one is then not taken)
 * or, inline, this job itself failed. */
int worker_submit(struct worker *w, void *job, struct error *err);

/* The number of jobs finished so far. With `wait_for` > the current count,
 * waits until that many are finished. */
uint64_t worker_finished(struct worker *w, uint64_t wait_for);

/* True, with the first error copied into err (if not NULL), once a job has
 * failed. Does not wait. */
bool worker_failed(struct worker *w, struct error *err);

/* Waits until every job handed over is finished. Returns 0, or -1 with the
 * first error in err (if not NULL). */
int worker_wait_idle(struct worker *w, struct error *err);

/* The CPU this process has, in CPUs: the CPUs its affinity mask allows,
 * capped by the CPU quota of its cgroup (cgroup v2 cpu.max, or v1
 * cpu.cfs_quota_us / cpu.cfs_period_us). On Lambda the quota is the share
 * that follows the memory size (one CPU at 1,769 MB), a fraction below that.
 * Read once per process; thread-safe. */
double worker_cpus(void);

/* Whether a second thread can run beside the caller's: worker_cpus() of at
 * least WORKER_PARALLEL_CPUS. Below it a thread's jobs cannot overlap the
 * caller's work, and every hand-off costs switches (and, under a quota, the
 * two threads' CPU time drawn from one budget): run them inline. */
#define WORKER_PARALLEL_CPUS 1.5
bool worker_parallel(void);

/* The CPU quota, in CPUs, of the cgroup that `proc_cgroup` (the text of
 * /proc/self/cgroup) names, read from the cgroup file system mounted at
 * `root` (/sys/fs/cgroup: v2 at the root, or v1 with a cpu hierarchy); 0
 * when there is none or it cannot be read. worker_cpus' reader, separate so
 * it can be tested against a directory that stands in for /sys/fs/cgroup. */
double worker_cgroup_quota(const char *root, const char *proc_cgroup);

/* Finishes the jobs handed over, ends the thread and frees what
 * worker_start made. Safe to call twice, and on a zeroed struct or one whose
 * worker_start failed. */
void worker_stop(struct worker *w);

#endif
