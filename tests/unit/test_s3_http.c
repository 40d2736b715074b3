/* Response header capture for the S3 store: status lines (1xx replaced),
 * the headers a resumed GET depends on, Content-Range, and bounded fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>

#include <string.h>

#include "http.h"
#include "s3/client_private.h"

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

/* The one header-line parser both clients use: names match whole and in any
 * case, values lose the line ending and the blanks around them, and a value
 * too long for its field is reported, its start kept. */
static void test_header_split(void **state)
{
    (void)state;
    struct http_header h;
    static const char line[] = "ETag-Extra: \t \"abc\"  \t\r\n";
    assert_true(http_header_split(line, sizeof line - 1, &h));
    assert_false(http_header_is(&h, "ETag"));
    assert_false(http_header_is(&h, "ETag-Extra-More"));
    assert_true(http_header_is(&h, "etag-EXTRA"));
    char out[8];
    assert_true(http_header_copy(&h, out, sizeof out));
    assert_string_equal(out, "\"abc\"");

    static const char bare[] = "Lambda-Runtime-Trace-Id:Root=1\n";
    assert_true(http_header_split(bare, sizeof bare - 1, &h));
    assert_true(http_header_is(&h, "LAMBDA-RUNTIME-TRACE-ID"));
    assert_false(http_header_copy(&h, out, 6)); /* 6 bytes and the NUL */
    assert_string_equal(out, "Root=");
    assert_true(http_header_copy(&h, out, 7));
    assert_string_equal(out, "Root=1");

    static const char empty[] = "Expect:  \r\n";
    assert_true(http_header_split(empty, sizeof empty - 1, &h));
    assert_int_equal(h.value_len, 0);
    assert_true(http_header_copy(&h, out, 1));
    assert_string_equal(out, "");

    /* The first ':' ends the name; a line without one is no header. */
    static const char url[] = "Location: https://h/k:1\r\n";
    assert_true(http_header_split(url, sizeof url - 1, &h));
    assert_true(http_header_is(&h, "location"));
    assert_int_equal(h.value_len, strlen("https://h/k:1"));
    assert_false(http_header_split("\r\n", 2, &h));
    assert_false(http_header_split("no colon\r\n", 10, &h));
}

/* Request header lines as libcurl takes them: an empty value drops the
 * header (no "Name: " with a trailing blank). */
static void test_header_add(void **state)
{
    (void)state;
    struct curl_slist *list = NULL;
    assert_int_equal(http_header_add(&list, "Host", "b.s3.amazonaws.com"), 0);
    assert_int_equal(http_header_add(&list, "Expect", ""), 0);
    assert_non_null(list);
    assert_string_equal(list->data, "Host: b.s3.amazonaws.com");
    assert_string_equal(list->next->data, "Expect:");
    assert_null(list->next->next);
    curl_slist_free_all(list);
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
        cmocka_unit_test(test_header_split),
        cmocka_unit_test(test_header_add),
        cmocka_unit_test(test_response_headers),
        cmocka_unit_test(test_bounded_fields),
        cmocka_unit_test(test_content_range),
        cmocka_unit_test(test_int64_and_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
