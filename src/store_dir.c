#define _GNU_SOURCE /* sync_file_range */
#include "store_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "uuid.h"
#include "handoff.h"
#include "worker.h"

/* S3's own limit on a key's length; it also bounds the work of a path walk. */
enum { KEY_MAX = 1024, MAX_SEGMENTS = KEY_MAX / 2 + 1 };

/* Temporary files live in this directory of the bucket, named UUID.partial:
 * a name no object key can reach (the segment is reserved), so a file left by
 * a killed run is never read as an object; later runs remove the stale ones. */
#define TMP_DIR ".backend-checks-results.tmp"
#define TMP_SUFFIX ".partial"
enum { STALE_SECONDS = 24 * 3600, STALE_SCAN_MAX = 10000 };

struct store_dir {
    struct store base;
    char *root;
    int root_fd; /* the root directory, opened once */
};

/* What the struct store_reader handles (store.h) of this store point at. */
struct dir_reader {
    int fd;
    uint64_t offset;
    char where[PATH_MAX]; /* "bucket/key", for messages */
};

/* Writes are double-buffered (handoff.h): the caller fills one buffer while a
 * writer thread hands the other to write(2), so the kernel's copy into the
 * page cache runs on the other core instead of the parsing one. The thread
 * also starts writeback every few MiB, so the fsync at commit has little left
 * to wait for. */
enum { WRITE_BUFFER = 512 * 1024, WRITEBACK_EVERY = 8 * 1024 * 1024 };

/* A key split at '/' into non-empty segments (pointers into buf). */
struct key_path {
    char buf[KEY_MAX + 1];
    const char *seg[MAX_SEGMENTS];
    size_t n;
};

/* What the struct store_writer handles (store.h) of this store point at. */
struct dir_writer {
    int fd;
    int bucket_fd, tmp_dir_fd;
    char tmp_name[48];  /* in tmp_dir_fd */
    char *bucket, *key; /* owned copies, for messages */
    struct key_path kp;

    struct handoff out;
    uint64_t written, synced; /* by the worker: bytes written, and handed to writeback */
};

/* Names the operation and object in err's where, unless something more
 * precise already has. Returns -1. */
static int located(struct error *err, const char *operation, const char *bucket, const char *key)
{
    if (err && !err->where[0])
        error_where(err, "%s s3://%s/%s", operation, bucket, key);
    return -1;
}

static int check_bucket(const char *bucket, struct error *err)
{
    if (!*bucket || strchr(bucket, '/') || !strcmp(bucket, ".") || !strcmp(bucket, ".."))
        return error_set(err, ERR_INVALID_KEY, "bucket name \"%s\" is not a single path segment",
                         bucket);
    return 0;
}

/* Keys are relative paths below the bucket, split into kp. Refused: a segment
 * "." or "..", which could name a file outside the bucket; an empty segment
 * ("a//b", "/a", "a/"), which would make distinct S3 keys name one file; the
 * temporary directory; keys longer than S3 allows. */
static int parse_key(const char *bucket, const char *key, struct key_path *kp, struct error *err)
{
    size_t len = strlen(key);
    if (len == 0)
        return error_set(err, ERR_INVALID_KEY, "empty object key in bucket %s", bucket);
    if (len > KEY_MAX)
        return error_set(err, ERR_INVALID_KEY,
                         "object key of %zu bytes in bucket %s is longer than the %d S3 allows",
                         len, bucket, KEY_MAX);
    memcpy(kp->buf, key, len + 1);
    kp->n = 0;
    for (char *seg = kp->buf; seg;) {
        char *slash = strchr(seg, '/');
        if (slash)
            *slash = '\0';
        if (!*seg)
            return error_set(err, ERR_INVALID_KEY,
                             "object key \"%s\" in bucket %s has an empty segment (\"//\", or a "
                             "leading or trailing \"/\"), which the directory store cannot keep "
                             "apart from the key without it",
                             key, bucket);
        if (!strcmp(seg, ".") || !strcmp(seg, ".."))
            return error_set(err, ERR_INVALID_KEY,
                             "object key \"%s\" in bucket %s has a \".\" or \"..\" segment, which "
                             "would resolve outside the bucket",
                             key, bucket);
        if (kp->n == 0 && !strcmp(seg, TMP_DIR))
            return error_set(err, ERR_INVALID_KEY,
                             "object key \"%s\" in bucket %s is in " TMP_DIR
                             "/, which the directory store keeps for its temporary files",
                             key, bucket);
        kp->seg[kp->n++] = seg;
        seg = slash ? slash + 1 : NULL;
    }
    return 0;
}

/* Whether a failure (errno e) to open name in dir_fd without following came
 * from a symlink: O_NOFOLLOW gives ELOOP, or ENOTDIR with O_DIRECTORY. */
static bool is_symlink(int e, int dir_fd, const char *name)
{
    struct stat st;
    return (e == ELOOP || e == ENOTDIR) && fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISLNK(st.st_mode);
}

/* Opens the bucket directory (a checked name) beneath the root without
 * following a symlink, for the S3 operation it stands for (GetObject,
 * PutObject: a missing bucket is worded as S3 answers that operation).
 * Returns its fd (caller closes) or -1 with err set. */
static int open_bucket(struct store_dir *s, const char *bucket, const char *operation,
                       struct error *err)
{
    int fd = openat(s->root_fd, bucket, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        return fd;
    if (is_symlink(errno, s->root_fd, bucket))
        return error_set(err, ERR_INVALID_KEY,
                         "bucket directory %s/%s is a symbolic link, which the directory store "
                         "does not follow",
                         s->root, bucket);
    if (errno == ENOENT || errno == ENOTDIR)
        return error_set(err, ERR_NO_SUCH_BUCKET,
                         "An error occurred (NoSuchBucket) when calling the %s operation: The "
                         "specified bucket does not exist",
                         operation);
    return error_set(err, ERR_IO, "cannot open bucket directory %s/%s: %s", s->root, bucket,
                     strerror(errno));
}

/* The error for a failure (errno e) to open segment seg (in dir_fd) of
 * bucket/key. */
static int segment_error(int e, int dir_fd, const char *bucket, const char *key, const char *seg,
                         struct error *err)
{
    if (is_symlink(e, dir_fd, seg))
        return error_set(err, ERR_INVALID_KEY,
                         "object key \"%s\" in bucket %s passes through \"%s\", a symbolic link, "
                         "which the directory store does not follow",
                         key, bucket, seg);
    if (e == ENOENT || e == ENOTDIR)
        return error_set(err, ERR_NO_SUCH_KEY, NO_SUCH_KEY_MESSAGE);
    if (e == ENAMETOOLONG)
        return error_set(err, ERR_INVALID_KEY,
                         "object key \"%s\" in bucket %s has a segment longer than a file name "
                         "may be",
                         key, bucket);
    return error_set(err, ERR_IO, "cannot open \"%s\" of s3://%s/%s: %s", seg, bucket, key,
                     strerror(e));
}

/* Writing bucket/key, whose segment i - 1 (in dir_fd) is not a directory: S3
 * keeps both "a" and "a/b", a directory store cannot. Names both keys. */
static int collision_error(int dir_fd, const char *bucket, const char *key,
                           const struct key_path *kp, size_t i, struct error *err)
{
    const char *seg = kp->seg[i - 1];
    int taken = (int)(seg - kp->buf + (ptrdiff_t)strlen(seg));
    struct stat st;
    bool object = fstatat(dir_fd, seg, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
    return error_set(err, ERR_INVALID_KEY,
                     "object key \"%s\" in bucket %s cannot be written: %s \"%.*s\" is a file "
                     "where the directory store needs a directory for it (S3 can hold both keys, "
                     "a directory store cannot)",
                     key, bucket, object ? "the object" : "the path of key", taken, key);
}

/* Opens the directories of kp's segments but the last, one at a time beneath
 * dirs[0] (the bucket's fd, borrowed), following no symlink: dirs[i] is the
 * directory of segment i - 1. With create, missing ones are made (0777 minus
 * the umask) and *created is the index of the first one made (kp->n if none).
 * Returns 0 (the caller closes dirs[1..kp->n - 1] with close_dirs) or -1 with
 * err set and every fd it opened closed. */
static int walk(int *dirs, const struct key_path *kp, const char *bucket, const char *key,
                bool create, size_t *created, struct error *err);

static void close_dirs(int *dirs, size_t n)
{
    for (size_t i = 1; i < n; i++)
        close(dirs[i]);
}

static int walk(int *dirs, const struct key_path *kp, const char *bucket, const char *key,
                bool create, size_t *created, struct error *err)
{
    if (created)
        *created = kp->n;
    for (size_t i = 1; i < kp->n; i++) {
        const char *seg = kp->seg[i - 1];
        if (create && mkdirat(dirs[i - 1], seg, 0777) == 0) {
            if (*created == kp->n)
                *created = i;
        } else if (create && errno != EEXIST) {
            int e = errno;
            close_dirs(dirs, i);
            return error_set(err, ERR_IO, "cannot create directory \"%s\" for s3://%s/%s: %s", seg,
                             bucket, key, strerror(e));
        }
        dirs[i] = openat(dirs[i - 1], seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dirs[i] < 0) {
            int e = errno;
            if (create && e == ENOTDIR && !is_symlink(e, dirs[i - 1], seg))
                collision_error(dirs[i - 1], bucket, key, kp, i, err);
            else if (create && e == ENOENT)
                error_set(err, ERR_IO, "cannot open directory \"%s\" made for s3://%s/%s: %s", seg,
                          bucket, key, strerror(e));
            else
                segment_error(e, dirs[i - 1], bucket, key, seg, err);
            close_dirs(dirs, i);
            return -1;
        }
    }
    return 0;
}

/* Removes the directories walk created (from index created on), deepest first. */
static void remove_created(const int *dirs, const struct key_path *kp, size_t created)
{
    for (size_t i = kp->n - 1; i >= created && i > 0; i--)
        unlinkat(dirs[i - 1], kp->seg[i - 1], AT_REMOVEDIR);
}

static const char *file_kind(mode_t mode)
{
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISSOCK(mode) ? "a socket"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISLNK(mode)  ? "a symbolic link"
                            : "not a regular file";
}

/* Opens a regular file for reading. O_NONBLOCK keeps open(2) from waiting
 * for a FIFO's writer (it changes nothing for a regular file), and fstat then
 * refuses what is not a regular file before anything reads it. */
static int open_regular(int dir_fd, const char *name, const char *bucket, const char *key,
                        struct error *err)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return segment_error(errno, dir_fd, bucket, key, name, err);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return error_set(err, ERR_IO, "cannot stat s3://%s/%s: %s", bucket, key, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) { /* a prefix of other keys, as S3 sees it */
        close(fd);
        return error_set(err, ERR_NO_SUCH_KEY, NO_SUCH_KEY_MESSAGE);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return error_set(err, ERR_INVALID_KEY,
                         "s3://%s/%s is %s in the directory store, not a regular file: refused",
                         bucket, key, file_kind(st.st_mode));
    }
    return fd;
}

static int dir_open_read(struct store *base, const char *bucket, const char *key,
                         struct store_reader **out, struct error *err)
{
    struct store_dir *s = (struct store_dir *)base;
    struct key_path kp;
    int dirs[MAX_SEGMENTS];
    if (check_bucket(bucket, err) != 0 || parse_key(bucket, key, &kp, err) != 0 ||
        (dirs[0] = open_bucket(s, bucket, "GetObject", err)) < 0)
        return located(err, "GetObject", bucket, key);
    int fd = -1;
    if (walk(dirs, &kp, bucket, key, false, NULL, err) == 0) {
        fd = open_regular(dirs[kp.n - 1], kp.seg[kp.n - 1], bucket, key, err);
        close_dirs(dirs, kp.n);
    }
    close(dirs[0]);
    if (fd < 0)
        return located(err, "GetObject", bucket, key);
    struct dir_reader *r = malloc(sizeof *r);
    if (!r) {
        close(fd);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory opening s3://%s/%s", bucket, key);
    }
    r->fd = fd;
    r->offset = 0;
    snprintf(r->where, sizeof r->where, "%s/%s", bucket, key);
    *out = (struct store_reader *)r;
    return 0;
}

static ssize_t dir_read(struct store_reader *reader, void *buf, size_t cap, struct error *err)
{
    struct dir_reader *r = (struct dir_reader *)reader;
    ssize_t n;
    do
        n = read(r->fd, buf, cap);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        error_set(err, ERR_IO, "cannot read the object: %s", strerror(errno));
        if (r->offset > 0)
            error_where(err, "GetObject s3://%s at byte offset %llu", r->where,
                        (unsigned long long)r->offset);
        else
            error_where(err, "GetObject s3://%s", r->where);
        return -1;
    }
    r->offset += (uint64_t)n;
    return n;
}

static void dir_close_read(struct store_reader *reader)
{
    struct dir_reader *r = (struct dir_reader *)reader;
    if (r) {
        close(r->fd);
        free(r);
    }
}

/* The worker's job: writes one chunk, and starts writeback every few MiB. */
static int write_chunk(void *ctx, struct handoff_chunk *c, struct error *err)
{
    struct dir_writer *w = ctx;
    int e = util_write_all(w->fd, c->data.data, c->data.len, NULL, NULL, NULL);
    if (e)
        return error_set(err, ERR_IO, "writing s3://%s/%s: %s", w->bucket, w->key, strerror(e));
    w->written += c->data.len;
#ifdef __linux__
    if (w->written - w->synced >= WRITEBACK_EVERY) {
        /* Start writing these pages to disk now (no waiting). */
        (void)sync_file_range(w->fd, (off_t)w->synced, (off_t)(w->written - w->synced),
                              SYNC_FILE_RANGE_WRITE);
        w->synced = w->written;
    }
#endif
    return 0;
}

static void free_writer(struct dir_writer *w)
{
    handoff_free(&w->out);
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp_dir_fd >= 0)
        close(w->tmp_dir_fd);
    if (w->bucket_fd >= 0)
        close(w->bucket_fd);
    free(w->bucket);
    free(w->key);
    free(w);
}

static int dir_write(struct store_writer *writer, const void *p, size_t n, struct error *err)
{
    struct dir_writer *w = (struct dir_writer *)writer;
    if (handoff_write(&w->out, p, n, err) != 0)
        return located(err, "PutObject", w->bucket, w->key);
    return 0;
}

static void abort_writer(struct dir_writer *w)
{
    handoff_stop(&w->out);
    if (w->fd >= 0)
        unlinkat(w->tmp_dir_fd, w->tmp_name, 0);
    free_writer(w);
}

static void dir_abort(struct store_writer *w)
{
    abort_writer((struct dir_writer *)w);
}

/* Removes temporary files older than a day, left by runs that were killed
 * before they could remove their own. Best effort, and a bounded scan. */
static void remove_stale(int tmp_dir_fd)
{
    int fd = dup(tmp_dir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    time_t now = time(NULL);
    struct dirent *e;
    for (int seen = 0; seen < STALE_SCAN_MAX && (e = readdir(d)); seen++) {
        size_t len = strlen(e->d_name);
        struct stat st;
        if (len > strlen(TMP_SUFFIX) && !strcmp(e->d_name + len - strlen(TMP_SUFFIX), TMP_SUFFIX) &&
            fstatat(tmp_dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            now - st.st_mtime > STALE_SECONDS)
            unlinkat(tmp_dir_fd, e->d_name, 0);
    }
    closedir(d);
}

/* Opens (making it if needed) the bucket's temporary directory. */
static int open_tmp_dir(int bucket_fd, const char *bucket, struct error *err)
{
    if (mkdirat(bucket_fd, TMP_DIR, 0700) != 0 && errno != EEXIST)
        return error_set(err, ERR_IO, "cannot create directory " TMP_DIR " in bucket %s: %s",
                         bucket, strerror(errno));
    int fd = openat(bucket_fd, TMP_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return error_set(err, ERR_IO, "cannot open directory " TMP_DIR " in bucket %s: %s", bucket,
                         strerror(errno));
    return fd;
}

static int dir_open_write(struct store *base, const char *bucket, const char *key,
                          struct store_writer **out, struct error *err)
{
    struct store_dir *s = (struct store_dir *)base;
    struct dir_writer *w = calloc(1, sizeof *w);
    if (!w)
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory opening %s for writing", key);
    w->fd = w->bucket_fd = w->tmp_dir_fd = -1;
    w->bucket = strdup(bucket);
    w->key = strdup(key);
    /* One chunk in flight: the kernel's copy runs on the other core, if
     * there is one (worker_parallel); else the writes are made inline. */
    handoff_init(&w->out, WRITE_BUFFER, worker_parallel(), write_chunk, NULL, w);
    if (!w->bucket || !w->key) {
        free_writer(w);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory opening %s for writing", key);
    }
    char id[37];
    if (check_bucket(bucket, err) != 0 || parse_key(bucket, key, &w->kp, err) != 0 ||
        (w->bucket_fd = open_bucket(s, bucket, "PutObject", err)) < 0 ||
        (w->tmp_dir_fd = open_tmp_dir(w->bucket_fd, bucket, err)) < 0 || uuid_v4(id, err) != 0) {
        free_writer(w);
        return located(err, "PutObject", bucket, key);
    }
    remove_stale(w->tmp_dir_fd);
    snprintf(w->tmp_name, sizeof w->tmp_name, "%s" TMP_SUFFIX, id);
    /* 0666 minus the umask, as for any file the user writes (not mkstemp's 0600). */
    w->fd = openat(w->tmp_dir_fd, w->tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   0666);
    if (w->fd < 0) {
        error_set(err, ERR_IO, "cannot create a temporary file in %s/%s/" TMP_DIR ": %s", s->root,
                  bucket, strerror(errno));
        free_writer(w);
        return located(err, "PutObject", bucket, key);
    }
    *out = (struct store_writer *)w;
    return 0;
}

/* Every step must succeed before the rename, and nothing after it may fail:
 * the object appears whole or not at all. On failure the temporary file and
 * any directory made for the key are removed. */
static int dir_commit(struct store_writer *writer, struct error *err)
{
    struct dir_writer *w = (struct dir_writer *)writer;
    int rc = handoff_finish(&w->out, err);
    if (rc == 0 && fsync(w->fd) != 0)
        rc = error_set(err, ERR_IO, "fsync of s3://%s/%s: %s", w->bucket, w->key, strerror(errno));
    if (rc != 0) {
        located(err, "PutObject", w->bucket, w->key);
        abort_writer(w);
        return -1;
    }
    const struct key_path *kp = &w->kp;
    int dirs[MAX_SEGMENTS];
    size_t created;
    dirs[0] = w->bucket_fd;
    if (walk(dirs, kp, w->bucket, w->key, true, &created, err) != 0) {
        located(err, "PutObject", w->bucket, w->key);
        abort_writer(w);
        return -1;
    }
    int parent = dirs[kp->n - 1];
    if (renameat(w->tmp_dir_fd, w->tmp_name, parent, kp->seg[kp->n - 1]) != 0) {
        if (errno == EISDIR)
            error_set(err, ERR_INVALID_KEY,
                      "object key \"%s\" in bucket %s cannot be written: the directory store "
                      "holds objects whose keys begin \"%s/\", in a directory of that name (S3 "
                      "can hold both keys, a directory store cannot)",
                      w->key, w->bucket, w->key);
        else
            error_set(err, ERR_IO, "rename into s3://%s/%s: %s", w->bucket, w->key,
                      strerror(errno));
        located(err, "PutObject", w->bucket, w->key);
        remove_created(dirs, kp, created);
        close_dirs(dirs, kp->n);
        abort_writer(w);
        return -1;
    }
    (void)fsync(parent); /* durability of the name; the object is in place either way */
    close_dirs(dirs, kp->n);
    free_writer(w);
    return 0;
}

static void dir_destroy(struct store *base)
{
    struct store_dir *s = (struct store_dir *)base;
    close(s->root_fd);
    free(s->root);
    free(s);
}

static const struct store_ops dir_ops = {
    .open_read = dir_open_read,
    .read = dir_read,
    .close_read = dir_close_read,
    .open_write = dir_open_write,
    .write = dir_write,
    .commit = dir_commit,
    .abort = dir_abort,
    .destroy = dir_destroy,
    .set_invocation = NULL, /* a directory has no use for it */
};

struct store *store_dir_new(const char *root, struct error *err)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        error_set(err, ERR_CONFIG, "store directory %s does not exist", root);
        return NULL;
    }
    struct store_dir *s = malloc(sizeof *s);
    char *copy = strdup(root);
    if (!s || !copy) {
        free(s);
        free(copy);
        close(fd);
        error_set(err, ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    s->base.ops = &dir_ops;
    s->root = copy;
    s->root_fd = fd;
    return &s->base;
}
