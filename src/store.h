/* store: the object-store interface the step reads and writes through.
 *
 * Two implementations: a directory (store_dir.h) and S3 (store_s3.h). Readers
 * stream an object's bytes; writers stream a new object and either commit it
 * (it appears whole) or abort it (nothing appears, nothing is left behind).
 * An error a store sets says where in its where (error.h): the S3 operation it
 * stands for, s3://BUCKET/KEY and, past an object's start, the byte offset. */
#ifndef BCR_STORE_H
#define BCR_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct store;
/* Handles, never defined: each store hands out pointers to a reader and a
 * writer struct of its own (struct dir_writer, struct s3_writer, ...) as these,
 * and turns them back in its ops. */
struct store_reader;
struct store_writer;

/* What the Lambda loop tells a store about the invocation it now serves. */
struct store_invocation {
    /* ms since the Unix epoch, 0 for none: no request or backoff runs past
     * it; one that would is cut short with a "Timeout" error. */
    int64_t deadline_ms;
    /* The invocation's trace header (Lambda-Runtime-Trace-Id), sent as
     * X-Amzn-Trace-Id on each of its requests; NULL or "" for none. Copied. */
    const char *trace_id;
};

struct store_ops {
    int (*open_read)(struct store *store, const char *bucket, const char *key,
                     struct store_reader **out, struct error *err);
    /* Reads up to cap bytes; returns the count, 0 at the end, -1 on error.
     * 0 means every byte of the object was delivered: a reader checks what
     * it received against the object's own length (S3: Content-Length) and
     * resumes or fails a body cut short. What a manifest says about the size
     * is its caller's concern. */
    ssize_t (*read)(struct store_reader *r, void *buf, size_t cap, struct error *err);
    void (*close_read)(struct store_reader *r);

    int (*open_write)(struct store *store, const char *bucket, const char *key,
                      struct store_writer **out, struct error *err);
    int (*write)(struct store_writer *w, const void *p, size_t n, struct error *err);
    /* Both end the writer and free it, whatever the outcome. */
    int (*commit)(struct store_writer *w, struct error *err);
    void (*abort)(struct store_writer *w);

    void (*destroy)(struct store *store);

    /* Applies to requests started or resumed after the call, until the next
     * call; NULL: the store has no use for it (a directory). */
    void (*set_invocation)(struct store *store, const struct store_invocation *inv);
};

struct store {
    const struct store_ops *ops;
};

/* Thin wrappers over ops, so call sites read as plain functions. The reader or
 * writer returned through `out` is owned by the caller until close_read,
 * commit or abort. Object keys and buckets are borrowed for the call only. */
static inline int store_open_read(struct store *s, const char *bucket, const char *key,
                                  struct store_reader **out, struct error *err)
{
    return s->ops->open_read(s, bucket, key, out, err);
}
static inline ssize_t store_read(struct store *s, struct store_reader *r, void *buf, size_t cap,
                                 struct error *err)
{
    return s->ops->read(r, buf, cap, err);
}
static inline void store_close_read(struct store *s, struct store_reader *r)
{
    s->ops->close_read(r);
}
static inline int store_open_write(struct store *s, const char *bucket, const char *key,
                                   struct store_writer **out, struct error *err)
{
    return s->ops->open_write(s, bucket, key, out, err);
}
static inline int store_write(struct store *s, struct store_writer *w, const void *p, size_t n,
                              struct error *err)
{
    return s->ops->write(w, p, n, err);
}
static inline int store_commit(struct store *s, struct store_writer *w, struct error *err)
{
    return s->ops->commit(w, err);
}
static inline void store_abort(struct store *s, struct store_writer *w)
{
    s->ops->abort(w);
}
static inline void store_destroy(struct store *s)
{
    if (s)
        s->ops->destroy(s);
}

/* inv NULL clears it: no deadline, no trace header. inv is borrowed. */
static inline void store_set_invocation(struct store *s, const struct store_invocation *inv)
{
    static const struct store_invocation none = {0, NULL};
    if (s->ops->set_invocation)
        s->ops->set_invocation(s, inv ? inv : &none);
}

/* What store_read_all returns. */
enum { STORE_OK = 0, STORE_ERROR = -1, STORE_TOO_LARGE = -2 };

/* Reads a whole object of at most max bytes into a NUL-terminated heap buffer
 * (caller frees *data) of *len bytes, taking at most max + 1 bytes of memory
 * whatever the object's size. For small documents only: the manifest.
 * Returns STORE_OK; STORE_ERROR with err set by the store (the object is
 * missing, I/O); or STORE_TOO_LARGE, err untouched, when the object holds more
 * than max bytes: only the caller knows what the object was meant to be, so
 * it says what is wrong with it. Nothing is allocated on failure. */
int store_read_all(struct store *s, const char *bucket, const char *key, size_t max, char **data,
                   size_t *len, struct error *err);

/* The message of every missing-object error, exactly as boto3 words it (the
 * object is named in the error's where). */
#define NO_SUCH_KEY_MESSAGE                                                                        \
    "An error occurred (NoSuchKey) when calling the GetObject operation: The specified key does "  \
    "not exist."

#endif
