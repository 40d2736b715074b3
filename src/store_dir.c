#define _GNU_SOURCE /* sync_file_range */
#include "store_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct store_dir {
    struct store base;
    char *root;
};

struct store_reader {
    int fd;
    uint64_t offset;
    char where[PATH_MAX]; /* "bucket/key", for messages */
};

/* Writes are double-buffered: the caller fills one buffer while a writer
 * thread hands the other to write(2), so the kernel's copy into the page cache
 * runs on the other core instead of the parsing one. The thread also starts
 * writeback every few MiB, so the fsync at commit has little left to wait for. */
enum { WRITE_BUFFER = 512 * 1024, WRITEBACK_EVERY = 8 * 1024 * 1024 };

struct store_writer {
    int fd;
    char tmp_path[PATH_MAX];
    char final_path[PATH_MAX];
    size_t bucket_dir_len; /* prefix of final_path that exists already */

    uint8_t *bufs[2];
    int fill;        /* index of the buffer the caller fills */
    size_t fill_len; /* bytes in bufs[fill] */
    bool thread_started;
    pthread_t thread;
    pthread_mutex_t lock; /* guards what follows */
    pthread_cond_t cond;  /* signalled when any of it changes */
    const uint8_t *busy;  /* handed to the thread, NULL when it is idle */
    size_t busy_len;
    bool stop;
    int write_errno; /* the thread's first failure, 0 if none */
};

static int check_bucket(const char *bucket, struct error *err)
{
    if (!*bucket || strchr(bucket, '/') || !strcmp(bucket, ".") || !strcmp(bucket, ".."))
        return error_set(err, ERR_INVALID_KEY, "bucket name \"%s\" is not a single path segment",
                         bucket);
    return 0;
}

/* Keys are relative paths below the bucket: no segment may be "." or "..",
 * which could name a file outside it. Empty segments ("a//b") are harmless. */
static int check_key(const char *bucket, const char *key, struct error *err)
{
    if (!*key)
        return error_set(err, ERR_INVALID_KEY, "empty object key in bucket %s", bucket);
    for (const char *seg = key; seg;) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return error_set(err, ERR_INVALID_KEY,
                             "object key \"%s\" in bucket %s has a \".\" or \"..\" segment, which "
                             "would resolve outside the bucket",
                             key, bucket);
        seg = slash ? slash + 1 : NULL;
    }
    return 0;
}

/* Builds ROOT/BUCKET (key NULL) or ROOT/BUCKET/KEY after validating both, and
 * checks that the bucket directory exists. */
static int object_path(struct store_dir *s, const char *bucket, const char *key, char *out,
                       size_t cap, struct error *err)
{
    if (check_bucket(bucket, err) != 0 || (key && check_key(bucket, key, err) != 0))
        return -1;
    int n = snprintf(out, cap, "%s/%s", s->root, bucket);
    struct stat st;
    if (n < 0 || (size_t)n >= cap)
        return error_set(err, ERR_INVALID_KEY, "path for bucket %s is too long", bucket);
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode))
        return error_set(err, ERR_NO_SUCH_BUCKET,
                         "The specified bucket does not exist: %s (no directory %s)", bucket, out);
    if (key) {
        n = snprintf(out, cap, "%s/%s/%s", s->root, bucket, key);
        if (n < 0 || (size_t)n >= cap)
            return error_set(err, ERR_INVALID_KEY, "path for key %s is too long", key);
    }
    return 0;
}

static int dir_open_read(struct store *base, const char *bucket, const char *key,
                         struct store_reader **out, struct error *err)
{
    struct store_dir *s = (struct store_dir *)base;
    char path[PATH_MAX];
    if (object_path(s, bucket, key, path, sizeof path, err) != 0)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
        errno = ENOENT;
    }
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return error_set(err, ERR_NO_SUCH_KEY, NO_SUCH_KEY_MESSAGE " Bucket: %s, Key: %s",
                             bucket, key);
        return error_set(err, ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    struct store_reader *r = malloc(sizeof *r);
    if (!r) {
        close(fd);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory opening %s", path);
    }
    r->fd = fd;
    r->offset = 0;
    snprintf(r->where, sizeof r->where, "%s/%s", bucket, key);
    *out = r;
    return 0;
}

static ssize_t dir_read(struct store_reader *r, void *buf, size_t cap, struct error *err)
{
    ssize_t n;
    do
        n = read(r->fd, buf, cap);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return error_set(err, ERR_IO, "reading s3://%s at byte offset %llu: %s", r->where,
                         (unsigned long long)r->offset, strerror(errno));
    r->offset += (uint64_t)n;
    return n;
}

static void dir_close_read(struct store_reader *r)
{
    if (r) {
        close(r->fd);
        free(r);
    }
}

/* write(2) of all n bytes; returns 0 or an errno. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t done = write(fd, p, n);
        if (done < 0 && errno == EINTR)
            continue;
        if (done < 0)
            return errno;
        p += done;
        n -= (size_t)done;
    }
    return 0;
}

static void *writer_thread(void *arg)
{
    struct store_writer *w = arg;
    uint64_t written = 0, synced = 0;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->busy && !w->stop)
            pthread_cond_wait(&w->cond, &w->lock);
        if (!w->busy)
            break;
        const uint8_t *p = w->busy;
        size_t n = w->busy_len;
        pthread_mutex_unlock(&w->lock);
        int e = write_all(w->fd, p, n);
        written += n;
#ifdef __linux__
        if (!e && written - synced >= WRITEBACK_EVERY) {
            /* Start writing these pages to disk now (no waiting). */
            (void)sync_file_range(w->fd, (off_t)synced, (off_t)(written - synced),
                                  SYNC_FILE_RANGE_WRITE);
            synced = written;
        }
#endif
        pthread_mutex_lock(&w->lock);
        if (e && !w->write_errno)
            w->write_errno = e;
        w->busy = NULL;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Waits until the thread is idle; returns its error (0 if none). Called with
 * the lock held. */
static int wait_idle(struct store_writer *w)
{
    while (w->busy)
        pthread_cond_wait(&w->cond, &w->lock);
    return w->write_errno;
}

/* Hands the filled buffer to the thread (after the previous one is written). */
static int hand_off(struct store_writer *w, struct error *err)
{
    pthread_mutex_lock(&w->lock);
    int e = wait_idle(w);
    if (!e && w->fill_len) {
        w->busy = w->bufs[w->fill];
        w->busy_len = w->fill_len;
        w->fill ^= 1;
        w->fill_len = 0;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    if (e)
        return error_set(err, ERR_IO, "writing %s: %s", w->tmp_path, strerror(e));
    return 0;
}

/* Stops the thread after everything handed to it is written. */
static void stop_thread(struct store_writer *w)
{
    if (!w->thread_started)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    w->thread_started = false;
}

static void free_writer(struct store_writer *w)
{
    stop_thread(w);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w->bufs[0]);
    free(w->bufs[1]);
    free(w);
}

static int dir_write(struct store_writer *w, const void *p, size_t n, struct error *err)
{
    const uint8_t *bytes = p;
    while (n > 0) {
        if (w->fill_len == WRITE_BUFFER && hand_off(w, err) != 0)
            return -1;
        size_t room = WRITE_BUFFER - w->fill_len;
        size_t take = n < room ? n : room;
        memcpy(w->bufs[w->fill] + w->fill_len, bytes, take);
        w->fill_len += take;
        bytes += take;
        n -= take;
    }
    return 0;
}

static void dir_abort(struct store_writer *w)
{
    stop_thread(w);
    close(w->fd);
    unlink(w->tmp_path);
    free_writer(w);
}

static int dir_open_write(struct store *base, const char *bucket, const char *key,
                          struct store_writer **out, struct error *err)
{
    struct store_dir *s = (struct store_dir *)base;
    struct store_writer *w = calloc(1, sizeof *w);
    if (!w)
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory opening %s for writing", key);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->fd = -1;
    w->bufs[0] = malloc(WRITE_BUFFER);
    w->bufs[1] = malloc(WRITE_BUFFER);
    if (!w->bufs[0] || !w->bufs[1]) {
        free_writer(w);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory opening %s for writing", key);
    }
    if (object_path(s, bucket, key, w->final_path, sizeof w->final_path, err) != 0) {
        free_writer(w);
        return -1;
    }
    w->bucket_dir_len = strlen(s->root) + 1 + strlen(bucket);
    /* The temporary file sits in the bucket directory, so an aborted write
     * leaves no directories behind and the rename stays on one file system. */
    snprintf(w->tmp_path, sizeof w->tmp_path, "%.*s/.backend-checks-results.XXXXXX",
             (int)w->bucket_dir_len, w->final_path);
    w->fd = mkstemp(w->tmp_path);
    if (w->fd < 0) {
        error_set(err, ERR_IO, "cannot create a temporary file in %.*s: %s", (int)w->bucket_dir_len,
                  w->final_path, strerror(errno));
        free_writer(w);
        return -1;
    }
    int e = pthread_create(&w->thread, NULL, writer_thread, w);
    if (e != 0) {
        error_set(err, ERR_IO, "cannot start the writer thread for %s: %s", w->tmp_path,
                  strerror(e));
        dir_abort(w);
        return -1;
    }
    w->thread_started = true;
    *out = w;
    return 0;
}

/* Creates the directories between the bucket directory and the file. */
static int make_parents(char *path, size_t from, struct error *err)
{
    for (char *p = path + from + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0777);
        int saved = errno;
        *p = '/';
        if (rc != 0 && saved != EEXIST)
            return error_set(err, ERR_IO, "cannot create directory for %s: %s", path,
                             strerror(saved));
    }
    return 0;
}

static int dir_commit(struct store_writer *w, struct error *err)
{
    int rc = 0;
    if (hand_off(w, err) != 0)
        rc = -1;
    stop_thread(w);
    if (rc == 0 && w->write_errno != 0)
        rc = error_set(err, ERR_IO, "writing %s: %s", w->tmp_path, strerror(w->write_errno));
    else if (rc == 0 && fsync(w->fd) != 0)
        rc = error_set(err, ERR_IO, "fsync %s: %s", w->tmp_path, strerror(errno));
    else if (make_parents(w->final_path, w->bucket_dir_len, err) != 0)
        rc = -1;
    else if (rename(w->tmp_path, w->final_path) != 0)
        rc = error_set(err, ERR_IO, "rename to %s: %s", w->final_path, strerror(errno));
    if (rc != 0) {
        dir_abort(w);
        return -1;
    }
    close(w->fd);
    free_writer(w);
    return 0;
}

static void dir_destroy(struct store *base)
{
    struct store_dir *s = (struct store_dir *)base;
    free(s->root);
    free(s);
}

static const struct store_ops dir_ops = {
    dir_open_read, dir_read,  dir_close_read, dir_open_write, dir_write,
    dir_commit,    dir_abort, dir_destroy,    NULL, /* set_invocation */
};

struct store *store_dir_new(const char *root, struct error *err)
{
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        error_set(err, ERR_CONFIG, "store directory %s does not exist", root);
        return NULL;
    }
    struct store_dir *s = malloc(sizeof *s);
    char *copy = strdup(root);
    if (!s || !copy) {
        free(s);
        free(copy);
        error_set(err, ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    s->base.ops = &dir_ops;
    s->root = copy;
    return &s->base;
}
