/* s3/operation: the S3 operations the program sends, and everything that
 * differs between them, in one table: botocore's name (in messages, logs and
 * where), the HTTP method, whether a signal may cut the request short, the
 * code of a 404 that came without an error document, and whether a 200 may
 * carry an error document. The request engine (s3/client) steers on this
 * table, never on names. */
#ifndef BCR_S3_OPERATION_H
#define BCR_S3_OPERATION_H

#include <stdbool.h>

enum s3_op {
    S3_OP_GET_OBJECT,
    S3_OP_HEAD_OBJECT,
    S3_OP_PUT_OBJECT,
    S3_OP_CREATE_MULTIPART_UPLOAD,
    S3_OP_UPLOAD_PART,
    S3_OP_COMPLETE_MULTIPART_UPLOAD,
    S3_OP_ABORT_MULTIPART_UPLOAD,
    S3_OP_COUNT
};

enum s3_method { S3_GET, S3_HEAD, S3_PUT, S3_POST, S3_DELETE };

struct s3_op_info {
    const char *name; /* botocore's: "GetObject", ... */
    enum s3_method method;
    const char *method_name; /* "GET", ..., as signed and sent */
    /* A signal cuts it short. Not a commit or an abort: their outcome must be
     * known, and once committing the step finishes rather than stops. */
    bool interruptible;
    const char *not_found; /* the code of a 404 without an error document */
    bool error_in_200;     /* a 200 may hold an Error document (or none at all) */
};

/* The row of op (a value of enum s3_op below S3_OP_COUNT); static storage. */
const struct s3_op_info *s3_op_info(enum s3_op op);

static inline const char *s3_op_name(enum s3_op op)
{
    return s3_op_info(op)->name;
}

#endif
