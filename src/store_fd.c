#include "store_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interrupt.h"
#include "util.h"

struct store_fd {
    struct store base;
    struct store_ops ops; /* the inner store's reads, this store's writes */
    struct store *inner;
    int fd;
    const char *name;
    bool writing;
};

/* What the struct store_writer handles (store.h) of this store point at. */
struct fd_writer {
    struct store_fd *s;
    off_t start; /* offset of a regular file when the writer opened, or -1 */
    bool held;   /* `last` holds the most recent byte, not yet written */
    uint8_t last;
};

static int fd_open_read(struct store *store, const char *bucket, const char *key,
                        struct store_reader **out, struct error *err)
{
    struct store_fd *s = (struct store_fd *)store;
    return store_open_read(s->inner, bucket, key, out, err);
}

/* The reads are the inner store's: so is the invocation's context. */
static void fd_set_invocation(struct store *store, const struct store_invocation *inv)
{
    struct store_fd *s = (struct store_fd *)store;
    store_set_invocation(s->inner, inv);
}

static int check_interrupt(void *err)
{
    return interrupt_check(err);
}

/* util_write_all of the n bytes at p to the store's descriptor, which may be a
 * pipe whose reader stopped reading, or one left non-blocking. */
static int write_out(struct fd_writer *w, const uint8_t *p, size_t n, struct error *err)
{
    for (;;) {
        /* SIGTERM still stops a write a reader holds up. A signal that came
         * while part of the bytes went out ends that write early rather than
         * with EINTR, hence the check before every write(2). */
        size_t done;
        int e = util_write_all(w->s->fd, p, n, &done, check_interrupt, err);
        if (e <= 0)
            return e;
        p += done;
        n -= done;
        /* A descriptor left non-blocking by whoever opened it: wait, as a
         * blocking one would. */
        if (e == EAGAIN || e == EWOULDBLOCK) {
            struct pollfd ready = {w->s->fd, POLLOUT, 0};
            if (poll(&ready, 1, -1) >= 0 || errno == EINTR)
                continue;
            e = errno;
        }
        return error_set(err, ERR_IO, "writing results.json to %s: %s", w->s->name, strerror(e));
    }
}

static int fd_open_write(struct store *store, const char *bucket, const char *key,
                         struct store_writer **out, struct error *err)
{
    (void)bucket;
    (void)key;
    struct store_fd *s = (struct store_fd *)store;
    if (s->writing)
        return error_set(err, ERR_IO, "%s already has a results.json being written", s->name);
    struct fd_writer *w = calloc(1, sizeof *w);
    if (!w)
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory opening %s", s->name);
    struct stat st;
    w->s = s;
    w->start = -1;
    if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode)) {
        /* An O_APPEND descriptor (`>>`) writes at the end, wherever its offset is. */
        int flags = fcntl(s->fd, F_GETFL);
        w->start = flags >= 0 && (flags & O_APPEND) ? st.st_size : lseek(s->fd, 0, SEEK_CUR);
    }
    s->writing = true;
    *out = (struct store_writer *)w;
    return 0;
}

static int fd_write(struct store_writer *writer, const void *p, size_t n, struct error *err)
{
    struct fd_writer *w = (struct fd_writer *)writer;
    if (n == 0)
        return 0;
    const uint8_t *bytes = p;
    if (w->held && write_out(w, &w->last, 1, err) != 0)
        return -1;
    if (write_out(w, bytes, n - 1, err) != 0) {
        w->held = false;
        return -1;
    }
    w->last = bytes[n - 1];
    w->held = true;
    return 0;
}

static void end_writer(struct fd_writer *w)
{
    w->s->writing = false;
    free(w);
}

static void abort_writer(struct fd_writer *w)
{
    /* Best effort: a file that cannot be cut back still lacks its last byte. */
    if (w->start >= 0 && ftruncate(w->s->fd, w->start) == 0)
        (void)lseek(w->s->fd, w->start, SEEK_SET);
    end_writer(w);
}

static void fd_abort(struct store_writer *w)
{
    abort_writer((struct fd_writer *)w);
}

static int fd_commit(struct store_writer *writer, struct error *err)
{
    struct fd_writer *w = (struct fd_writer *)writer;
    if (w->held && write_out(w, &w->last, 1, err) != 0) {
        abort_writer(w); /* the closing byte did not go out (disk full): as any failure */
        return -1;
    }
    end_writer(w);
    return 0;
}

static void fd_destroy(struct store *store)
{
    struct store_fd *s = (struct store_fd *)store;
    store_destroy(s->inner);
    free(s);
}

struct store *store_fd_new(struct store *inner, int fd, const char *name, struct error *err)
{
    struct store_fd *s = calloc(1, sizeof *s);
    if (!s) {
        store_destroy(inner);
        error_set(err, ERR_OUT_OF_MEMORY, "out of memory for the %s store", name);
        return NULL;
    }
    s->ops = (struct store_ops){
        .open_read = fd_open_read,
        .read = inner->ops->read,
        .close_read = inner->ops->close_read,
        .open_write = fd_open_write,
        .write = fd_write,
        .commit = fd_commit,
        .abort = fd_abort,
        .destroy = fd_destroy,
        .set_invocation = fd_set_invocation,
    };
    s->base.ops = &s->ops;
    s->inner = inner;
    s->fd = fd;
    s->name = name;
    return &s->base;
}
