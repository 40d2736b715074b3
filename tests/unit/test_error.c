/* Error kinds (error.h): each type the program steers on has its kind,
 * derived when the error is set; any other type (an S3 code passed through)
 * is ERROR_KIND_S3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "error.h"

static void test_kind_of_each_type(void **state)
{
    (void)state;
    static const struct {
        const char *type;
        enum error_kind kind;
    } want[] = {
        {ERR_INVALID_EVENT, ERROR_KIND_INVALID_EVENT},
        {ERR_INVALID_MANIFEST, ERROR_KIND_INVALID_MANIFEST},
        {ERR_INCOMPLETE_MAP_RUN, ERROR_KIND_INCOMPLETE_MAP_RUN},
        {ERR_INVALID_RESULT_FILE, ERROR_KIND_INVALID_RESULT_FILE},
        {ERR_INVALID_OUTPUT, ERROR_KIND_INVALID_OUTPUT},
        {ERR_INVALID_KEY, ERROR_KIND_INVALID_KEY},
        {ERR_NO_SUCH_BUCKET, ERROR_KIND_NO_SUCH_BUCKET},
        {ERR_NO_SUCH_KEY, ERROR_KIND_NO_SUCH_KEY},
        {ERR_IO, ERROR_KIND_IO},
        {ERR_OUT_OF_MEMORY, ERROR_KIND_OUT_OF_MEMORY},
        {ERR_CONFIG, ERROR_KIND_CONFIG},
        {ERR_TIMEOUT, ERROR_KIND_TIMEOUT},
        {ERR_INTERRUPTED, ERROR_KIND_INTERRUPTED},
        {"NoSuchUpload", ERROR_KIND_NO_SUCH_UPLOAD},
        {"PreconditionFailed", ERROR_KIND_PRECONDITION_FAILED},
        {"AccessDenied", ERROR_KIND_S3},
        {"SlowDown", ERROR_KIND_S3},
        {"noSuchUpload", ERROR_KIND_S3}, /* S3's codes are case-sensitive */
        {"", ERROR_KIND_NONE},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        assert_int_equal(error_kind_of(want[i].type), want[i].kind);
        struct error err = {0};
        error_set(&err, want[i].type, "message");
        assert_int_equal(err.kind, want[i].kind);
        struct error copy = err;
        assert_int_equal(copy.kind, want[i].kind);
    }
    assert_int_equal(error_kind_of(NULL), ERROR_KIND_NONE);
}

static void test_clear_resets_kind(void **state)
{
    (void)state;
    struct error err;
    error_set(&err, ERR_TIMEOUT, "late");
    assert_int_equal(err.kind, ERROR_KIND_TIMEOUT);
    error_prefix(&err, "reading: ");
    error_where(&err, "GetObject s3://b/k");
    assert_int_equal(err.kind, ERROR_KIND_TIMEOUT);
    error_clear(&err);
    assert_int_equal(err.kind, ERROR_KIND_NONE);
    assert_false(error_is_set(&err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_of_each_type),
        cmocka_unit_test(test_clear_resets_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
