#include "s3/operation.h"

static const struct s3_op_info ops[S3_OP_COUNT] = {
    [S3_OP_GET_OBJECT] = {.name = "GetObject",
                          .method = S3_GET,
                          .method_name = "GET",
                          .interruptible = true,
                          .not_found = "NoSuchKey"},
    [S3_OP_HEAD_OBJECT] = {.name = "HeadObject",
                           .method = S3_HEAD,
                           .method_name = "HEAD",
                           .interruptible = true,
                           .not_found = "NotFound"},
    [S3_OP_PUT_OBJECT] = {.name = "PutObject",
                          .method = S3_PUT,
                          .method_name = "PUT",
                          .interruptible = false, /* the single request that commits */
                          .not_found = "NotFound"},
    [S3_OP_CREATE_MULTIPART_UPLOAD] = {.name = "CreateMultipartUpload",
                                       .method = S3_POST,
                                       .method_name = "POST",
                                       .interruptible = true,
                                       .not_found = "NotFound"},
    [S3_OP_UPLOAD_PART] = {.name = "UploadPart",
                           .method = S3_PUT,
                           .method_name = "PUT",
                           .interruptible = true,
                           .not_found = "NotFound"},
    /* Reports some failures in a 200 response; one without its result
     * document (the connection dropped while S3 was still assembling the
     * object) is, as botocore has it, an InternalError to retry. */
    [S3_OP_COMPLETE_MULTIPART_UPLOAD] = {.name = "CompleteMultipartUpload",
                                         .method = S3_POST,
                                         .method_name = "POST",
                                         .interruptible = false,
                                         .not_found = "NotFound",
                                         .error_in_200 = true},
    [S3_OP_ABORT_MULTIPART_UPLOAD] = {.name = "AbortMultipartUpload",
                                      .method = S3_DELETE,
                                      .method_name = "DELETE",
                                      .interruptible = false, /* cleaning up: let it finish */
                                      .not_found = "NotFound"},
};

const struct s3_op_info *s3_op_info(enum s3_op op)
{
    return &ops[op];
}
