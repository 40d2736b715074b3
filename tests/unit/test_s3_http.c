/* Response header capture for the S3 store: status lines (1xx replaced),
 * the headers a resumed GET depends on, Content-Range, and bounded fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http.h"
#include "s3/client.h"

static void feed(struct http_response *r, const char *line)
{
    http_response_header(r, line, strlen(line));
}

static void test_response_headers(void **state)
{
    (void)state;
    struct http_response r;
    http_response_reset(&r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.content_length, -1);
    feed(&r, "HTTP/1.1 100 Continue\r\n");
    feed(&r, "\r\n");
    assert_int_equal(r.status, 100);
    assert_false(r.headers_done);
    feed(&r, "HTTP/1.1 206 Partial Content\r\n");
    feed(&r, "x-amz-request-id: 4442587FB7D0A2F9\r\n");
    feed(&r, "ETag: \"d41d8cd98f00b204e9800998ecf8427e\"\r\n");
    feed(&r, "content-length:  1000 \r\n");
    feed(&r, "Content-Range: bytes 5000-5999/6000\r\n");
    feed(&r, "X-Amz-Bucket-Region: eu-west-2\n");
    feed(&r, "NoColonHere\r\n");
    assert_false(r.headers_done);
    feed(&r, "\r\n");
    assert_true(r.headers_done);
    assert_int_equal(r.status, 206);
    assert_int_equal(r.content_length, 1000);
    assert_string_equal(r.etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
    assert_false(r.etag_too_long);
    assert_string_equal(r.request_id, "4442587FB7D0A2F9");
    assert_string_equal(r.bucket_region, "eu-west-2");
    assert_true(r.has_content_range);
    assert_int_equal(r.range_first, 5000);
    assert_int_equal(r.range_last, 5999);
    assert_int_equal(r.range_total, 6000);
    /* A new status line starts afresh. */
    feed(&r, "HTTP/1.1 404 Not Found\r\n");
    assert_int_equal(r.status, 404);
    assert_false(r.headers_done);
    assert_string_equal(r.etag, "");
    assert_int_equal(r.content_length, -1);
}

static void test_bounded_fields(void **state)
{
    (void)state;
    struct http_response r;
    http_response_reset(&r);
    char line[HTTP_ETAG_MAX + 64];
    memcpy(line, "ETag: ", 6);
    memset(line + 6, 'e', HTTP_ETAG_MAX + 10);
    line[6 + HTTP_ETAG_MAX + 10] = '\0';
    feed(&r, "HTTP/1.1 200 OK\r\n");
    feed(&r, line);
    assert_true(r.etag_too_long);
    assert_true(strlen(r.etag) < HTTP_ETAG_MAX);
    feed(&r, "Content-Length: 99999999999999999999999\r\n");
    assert_int_equal(r.content_length, -1);
    feed(&r, "Content-Length: 12abc\r\n");
    assert_int_equal(r.content_length, -1);
    feed(&r, "Content-Length: -1\r\n");
    assert_int_equal(r.content_length, -1);
    feed(&r, "Content-Range: bytes */1000\r\n");
    assert_false(r.has_content_range);
}

static int range(const char *v, int64_t *f, int64_t *l, int64_t *t)
{
    return http_parse_content_range(v, strlen(v), f, l, t);
}

static void test_content_range(void **state)
{
    (void)state;
    int64_t f, l, t;
    assert_int_equal(range("bytes 0-0/1", &f, &l, &t), 0);
    assert_int_equal(f, 0);
    assert_int_equal(l, 0);
    assert_int_equal(t, 1);
    assert_int_equal(range(" Bytes 10-5368709119/5368709120 ", &f, &l, &t), 0);
    assert_int_equal(t, 5368709120LL);
    const char *bad[] = {"",
                         "bytes",
                         "bytes 1-2",
                         "bytes 2-1/10",
                         "bytes 0-10/10",
                         "bytes -1-2/3",
                         "bytes 1-2/*",
                         "items 0-1/2",
                         "bytes 0-1/2x",
                         "bytes=0-1/2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(range(bad[i], &f, &l, &t), -1);
}

static void test_int64_and_reason(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(http_parse_int64(" 42\t", 4, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(http_parse_int64("9223372036854775807", 19, &v), 0);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(http_parse_int64("9223372036854775808", 19, &v), -1);
    assert_int_equal(http_parse_int64("", 0, &v), -1);
    assert_int_equal(http_parse_int64("1 2", 3, &v), -1);
    assert_string_equal(http_reason(404), "Not Found");
    assert_string_equal(http_reason(299), "");
}

/* The trace id the S3 client sends as X-Amzn-Trace-Id (unsigned, so checked
 * nowhere else): one with a control byte is left out, not forwarded. */
static void test_trace_id_with_control_bytes_is_dropped(void **state)
{
    (void)state;
    struct s3_client c;
    memset(&c, 0, sizeof c);
    s3_client_set_invocation(&c, 0, "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1");
    assert_string_equal(c.trace_id, "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1");
    static const char *const bad[] = {"Root=1-5759e988\rX-Injected: 1", "Root=1\n",
                                      "Root=\x7f"
                                      "1",
                                      "Root=1\tx"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        s3_client_set_invocation(&c, 0, bad[i]);
        assert_string_equal(c.trace_id, "");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_id_with_control_bytes_is_dropped),
        cmocka_unit_test(test_response_headers),
        cmocka_unit_test(test_bounded_fields),
        cmocka_unit_test(test_content_range),
        cmocka_unit_test(test_int64_and_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
