/* Typed errors: every failure carries an errorType (the Lambda error shape) and a
 * message that says what happened. Where it happened is said either in the
 * message (our own types: entry index, byte offset) or, for a failure worded
 * as S3 and botocore word it, in `where`: the store operation, the object and
 * the byte offset ("GetObject s3://B/K at byte offset N"), which the shells
 * show beside the message (Lambda's stackTrace, the X-Ray cause, the log, the
 * command line's stderr) so the message stays botocore's text exactly.
 *
 * An error is a plain value owned by the caller; functions that can fail take a
 * `struct error *` and fill it in before returning their failure code. */
#ifndef BCR_ERROR_H
#define BCR_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* The step's own error types. S3 error codes (AccessDenied, SlowDown, ...) are
 * passed through as the type of error_set, sanitised first (s3/error_doc.h). */
#define ERR_INVALID_EVENT "InvalidEvent"
#define ERR_INVALID_MANIFEST "InvalidManifest"
#define ERR_INCOMPLETE_MAP_RUN "IncompleteMapRun"
#define ERR_INVALID_RESULT_FILE "InvalidResultFile"
#define ERR_INVALID_OUTPUT "InvalidOutput"
#define ERR_INVALID_KEY "InvalidKey"
#define ERR_NO_SUCH_BUCKET "NoSuchBucket"
#define ERR_NO_SUCH_KEY "NoSuchKey"
#define ERR_IO "IOError"
#define ERR_OUT_OF_MEMORY "OutOfMemory"
#define ERR_CONFIG "ConfigurationError"
#define ERR_TIMEOUT "Timeout"
#define ERR_INTERRUPTED "Interrupted" /* SIGTERM or SIGINT */
/* S3 codes the program steers on (the others are ERROR_KIND_S3). */
#define ERR_NO_SUCH_UPLOAD "NoSuchUpload"
#define ERR_PRECONDITION_FAILED "PreconditionFailed"

/* What control flow tests: the type as an enum, derived from the type string
 * when the error is set (one table, error.c), so that setters name a type
 * once and the strings stay at the edges (messages, Runtime API, CLI). */
enum error_kind {
    ERROR_KIND_NONE = 0, /* no error set */
    ERROR_KIND_INVALID_EVENT,
    ERROR_KIND_INVALID_MANIFEST,
    ERROR_KIND_INCOMPLETE_MAP_RUN,
    ERROR_KIND_INVALID_RESULT_FILE,
    ERROR_KIND_INVALID_OUTPUT,
    ERROR_KIND_INVALID_KEY,
    ERROR_KIND_NO_SUCH_BUCKET,
    ERROR_KIND_NO_SUCH_KEY,
    ERROR_KIND_IO,
    ERROR_KIND_OUT_OF_MEMORY,
    ERROR_KIND_CONFIG,
    ERROR_KIND_TIMEOUT,
    ERROR_KIND_INTERRUPTED,
    ERROR_KIND_NO_SUCH_UPLOAD,
    ERROR_KIND_PRECONDITION_FAILED,
    ERROR_KIND_S3, /* any other type: an S3 code passed through (AccessDenied, ...) */
};

/* A location holds an operation, a bucket of up to 255 bytes, a key of up to
 * 1024 and a byte offset. */
enum { ERROR_TYPE_MAX = 64, ERROR_MESSAGE_MAX = 1024, ERROR_WHERE_MAX = 1400 };

struct error {
    enum error_kind kind;            /* type's kind (error_kind_of) */
    char type[ERROR_TYPE_MAX];       /* empty when no error is set */
    char message[ERROR_MESSAGE_MAX]; /* truncated with "..." if longer */
    char where[ERROR_WHERE_MAX];     /* "" if the message says where, or nobody knows */
};

/* The kind of an errorType string: one of the types above, ERROR_KIND_S3 for
 * any other, ERROR_KIND_NONE for "" or NULL. */
enum error_kind error_kind_of(const char *type);

/* Sets type (and its kind) and a printf-formatted message, and clears where. Returns -1, so
 * callers can write `return error_set(err, ...);`. `err` may be NULL (the
 * error is dropped). */
int error_set(struct error *err, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int error_vset(struct error *err, const char *type, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Sets where (printf-formatted) on an error already set; truncated with "..."
 * if longer. `err` may be NULL. */
void error_where(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends a printf-formatted context ("reading KEY: ") to the message. */
void error_prefix(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bool error_is_set(const struct error *err);
void error_clear(struct error *err);

/* Writes {"errorType": "...", "errorMessage": "..."} (JSON-escaped, no newline)
 * into out; where is not part of it. Returns the length written, or -1 if cap is too small. */
int error_to_json(const struct error *err, char *out, size_t cap);

#endif
