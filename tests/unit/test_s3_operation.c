/* The S3 operation table (s3/operation.h): what the request engine steers on
 * for each operation, and the 404 code it gives a response without a body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "s3/error_doc.h"
#include "s3/operation.h"

static void test_names_and_methods(void **state)
{
    (void)state;
    static const struct {
        enum s3_op op;
        const char *name, *method;
    } want[] = {
        {S3_OP_GET_OBJECT, "GetObject", "GET"},
        {S3_OP_HEAD_OBJECT, "HeadObject", "HEAD"},
        {S3_OP_PUT_OBJECT, "PutObject", "PUT"},
        {S3_OP_CREATE_MULTIPART_UPLOAD, "CreateMultipartUpload", "POST"},
        {S3_OP_UPLOAD_PART, "UploadPart", "PUT"},
        {S3_OP_COMPLETE_MULTIPART_UPLOAD, "CompleteMultipartUpload", "POST"},
        {S3_OP_ABORT_MULTIPART_UPLOAD, "AbortMultipartUpload", "DELETE"},
    };
    assert_int_equal(sizeof want / sizeof *want, S3_OP_COUNT);
    static const char *const methods[] = {[S3_GET] = "GET",
                                          [S3_HEAD] = "HEAD",
                                          [S3_PUT] = "PUT",
                                          [S3_POST] = "POST",
                                          [S3_DELETE] = "DELETE"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const struct s3_op_info *info = s3_op_info(want[i].op);
        assert_string_equal(info->name, want[i].name);
        assert_string_equal(s3_op_name(want[i].op), want[i].name);
        assert_string_equal(info->method_name, want[i].method);
        assert_string_equal(methods[info->method], want[i].method);
    }
}

/* A signal may cut short anything but the requests whose outcome must be
 * known: the single PutObject, the commit and the abort. */
static void test_interruptible(void **state)
{
    (void)state;
    for (int op = 0; op < S3_OP_COUNT; op++) {
        bool final = op == S3_OP_PUT_OBJECT || op == S3_OP_COMPLETE_MULTIPART_UPLOAD ||
                     op == S3_OP_ABORT_MULTIPART_UPLOAD;
        assert_int_equal(s3_op_info((enum s3_op)op)->interruptible, !final);
    }
}

/* Only CompleteMultipartUpload may report an error in a 200. */
static void test_error_in_200(void **state)
{
    (void)state;
    for (int op = 0; op < S3_OP_COUNT; op++)
        assert_int_equal(s3_op_info((enum s3_op)op)->error_in_200,
                         op == S3_OP_COMPLETE_MULTIPART_UPLOAD);
}

/* A 404 without a document: NoSuchKey for GetObject, NotFound for the rest. */
static void test_not_found(void **state)
{
    (void)state;
    for (int op = 0; op < S3_OP_COUNT; op++) {
        const char *want = op == S3_OP_GET_OBJECT ? "NoSuchKey" : "NotFound";
        assert_string_equal(s3_op_info((enum s3_op)op)->not_found, want);
        char code[S3_ERROR_CODE_MAX];
        s3_error_code_for_status(404, (enum s3_op)op, code, sizeof code);
        assert_string_equal(code, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_methods),
        cmocka_unit_test(test_interruptible),
        cmocka_unit_test(test_error_in_200),
        cmocka_unit_test(test_not_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
