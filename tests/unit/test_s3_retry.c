/* The retry policy: which S3 responses and transport failures are retried,
 * and the full-jitter backoff bounds (AWS SDK "standard" mode). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "s3/config.h"

static void test_responses(void **state)
{
    (void)state;
    assert_int_equal(s3_retry_for_response(503, "SlowDown"), S3_RETRY_THROTTLE);
    assert_int_equal(s3_retry_for_response(503, ""), S3_RETRY_THROTTLE);
    assert_int_equal(s3_retry_for_response(429, ""), S3_RETRY_THROTTLE);
    assert_int_equal(s3_retry_for_response(400, "Throttling"), S3_RETRY_THROTTLE);
    assert_int_equal(s3_retry_for_response(400, "RequestLimitExceeded"), S3_RETRY_THROTTLE);
    assert_int_equal(s3_retry_for_response(500, "InternalError"), S3_RETRY_TRANSIENT);
    assert_int_equal(s3_retry_for_response(200, "InternalError"), S3_RETRY_TRANSIENT);
    assert_int_equal(s3_retry_for_response(500, ""), S3_RETRY_TRANSIENT);
    assert_int_equal(s3_retry_for_response(502, ""), S3_RETRY_TRANSIENT);
    assert_int_equal(s3_retry_for_response(504, ""), S3_RETRY_TRANSIENT);
    assert_int_equal(s3_retry_for_response(400, "RequestTimeout"), S3_RETRY_TRANSIENT);
    const char *final[] = {"NoSuchKey",   "NoSuchBucket", "AccessDenied", "SignatureDoesNotMatch",
                           "InvalidPart", "BadDigest",    "NoSuchUpload", "PreconditionFailed"};
    for (size_t i = 0; i < sizeof final / sizeof *final; i++)
        assert_int_equal(s3_retry_for_response(400, final[i]), S3_RETRY_NONE);
    assert_int_equal(s3_retry_for_response(404, ""), S3_RETRY_NONE);
    assert_int_equal(s3_retry_for_response(403, ""), S3_RETRY_NONE);
    assert_int_equal(s3_retry_for_response(501, "NotImplemented"), S3_RETRY_NONE);
    assert_int_equal(s3_retry_for_response(400, NULL), S3_RETRY_NONE);
}

static void test_transport(void **state)
{
    (void)state;
    const CURLcode retried[] = {CURLE_COULDNT_CONNECT,    CURLE_COULDNT_RESOLVE_HOST,
                                CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR,
                                CURLE_RECV_ERROR,         CURLE_PARTIAL_FILE,
                                CURLE_GOT_NOTHING,        CURLE_SSL_CONNECT_ERROR};
    for (size_t i = 0; i < sizeof retried / sizeof *retried; i++)
        assert_int_equal(s3_retry_for_transport((int)retried[i]), S3_RETRY_TRANSIENT);
    const CURLcode final[] = {CURLE_OK,
                              CURLE_PEER_FAILED_VERIFICATION,
                              CURLE_SSL_CACERT_BADFILE,
                              CURLE_URL_MALFORMAT,
                              CURLE_WRITE_ERROR,
                              CURLE_OUT_OF_MEMORY,
                              CURLE_ABORTED_BY_CALLBACK};
    for (size_t i = 0; i < sizeof final / sizeof *final; i++)
        assert_int_equal(s3_retry_for_transport((int) final[i]), S3_RETRY_NONE);
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    /* Ceiling: base * 2^(retry-1), capped at 20 s; the delay is unit * ceiling. */
    assert_int_equal(s3_backoff_ms(1, S3_RETRY_TRANSIENT, 0.0), 0);
    assert_int_equal(s3_backoff_ms(1, S3_RETRY_TRANSIENT, 0.5), 50);
    assert_int_equal(s3_backoff_ms(2, S3_RETRY_TRANSIENT, 0.5), 100);
    assert_int_equal(s3_backoff_ms(3, S3_RETRY_TRANSIENT, 0.5), 200);
    assert_int_equal(s3_backoff_ms(1, S3_RETRY_THROTTLE, 0.5), 250);
    assert_int_equal(s3_backoff_ms(2, S3_RETRY_THROTTLE, 0.5), 500);
    assert_int_equal(s3_backoff_ms(9, S3_RETRY_TRANSIENT, 0.5), 10000);
    assert_int_equal(s3_backoff_ms(10, S3_RETRY_TRANSIENT, 0.5), 10000);
    assert_int_equal(s3_backoff_ms(100, S3_RETRY_THROTTLE, 0.5), 10000);
    assert_int_equal(s3_backoff_ms(1000000, S3_RETRY_TRANSIENT, 0.999), 19980);
    /* Whatever the random number, the delay stays in [0, ceiling). */
    for (int retry = 1; retry <= 40; retry++) {
        for (double u = -0.5; u <= 1.5; u += 0.0625) {
            int64_t d = s3_backoff_ms(retry, S3_RETRY_THROTTLE, u);
            assert_true(d >= 0 && d < 20000);
        }
    }
    assert_true(s3_backoff_ms(0, S3_RETRY_TRANSIENT, 0.9) < 100);
    assert_true(s3_backoff_ms(-3, S3_RETRY_TRANSIENT, 0.9) < 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_transport),
        cmocka_unit_test(test_backoff_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
