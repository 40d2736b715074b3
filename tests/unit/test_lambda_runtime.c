/* The Lambda loop's pure parts: when to stop before the deadline, and the
 * Runtime API's error document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "lambda.h"

#define NOW INT64_C(1750000000000) /* a plausible wall clock, ms */

static void test_margin_before_a_long_deadline(void **state)
{
    (void)state;
    struct lambda_deadline d;
    assert_true(lambda_plan_deadline(NOW, NOW + 900000, &d));
    assert_int_equal(d.stop_at_ms, NOW + 900000 - LAMBDA_STOP_MARGIN_MS);
    assert_int_equal(d.store_deadline_ms, NOW + 900000 - LAMBDA_STOP_MARGIN_MS / 2);
    /* The step stops first; S3 requests are cut after; both before Lambda. */
    assert_true(d.stop_at_ms < d.store_deadline_ms);
    assert_true(d.store_deadline_ms < NOW + 900000);
}

/* With little time, at most half of it is kept back. */
static void test_short_budget_keeps_half(void **state)
{
    (void)state;
    struct lambda_deadline d;
    assert_true(lambda_plan_deadline(NOW, NOW + 3000, &d));
    assert_int_equal(d.stop_at_ms, NOW + 1500);
    assert_int_equal(d.store_deadline_ms, NOW + 2250);
    assert_true(lambda_plan_deadline(NOW, NOW + 4000, &d));
    assert_int_equal(d.stop_at_ms, NOW + 2000);
}

/* Already past: stop at once (the stopping point is in the past). */
static void test_deadline_already_past(void **state)
{
    (void)state;
    struct lambda_deadline d;
    assert_true(lambda_plan_deadline(NOW, NOW - 10, &d));
    assert_true(d.stop_at_ms <= NOW);
    assert_true(d.store_deadline_ms <= NOW);
    assert_true(d.stop_at_ms > 0);
}

/* No header, or an emulator's placeholder that is no Unix time in ms. */
static void test_absent_or_implausible_deadline(void **state)
{
    (void)state;
    struct lambda_deadline d = {1, 1};
    assert_false(lambda_plan_deadline(NOW, 0, &d));
    assert_int_equal(d.stop_at_ms, 0);
    assert_int_equal(d.store_deadline_ms, 0);
    d.stop_at_ms = d.store_deadline_ms = 1;
    assert_false(lambda_plan_deadline(NOW, 5000, &d)); /* @vercel/fun 1.3.0 sends this */
    assert_int_equal(d.stop_at_ms, 0);
    assert_int_equal(d.store_deadline_ms, 0);
    assert_false(lambda_plan_deadline(NOW, -1, &d));
}

static void test_error_document(void **state)
{
    (void)state;
    struct error err;
    error_set(&err, "NoSuchKey", "key \"a\\b\"\n not found");
    char doc[4096];
    int n = runtime_api_error_json(&err, doc, sizeof doc);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(doc));
    json_t *v = json_loads(doc, 0, NULL);
    assert_non_null(v);
    assert_int_equal(json_object_size(v), 3);
    assert_string_equal(json_string_value(json_object_get(v, "errorType")), "NoSuchKey");
    assert_string_equal(json_string_value(json_object_get(v, "errorMessage")),
                        "key \"a\\b\"\n not found");
    json_t *trace = json_object_get(v, "stackTrace");
    assert_true(json_is_array(trace));
    assert_int_equal(json_array_size(trace), 0);
    json_decref(v);

    /* Invalid UTF-8 in a message (from a key) still gives valid JSON. */
    error_set(&err, "InvalidKey", "bad \xff\xfe key");
    assert_true(runtime_api_error_json(&err, doc, sizeof doc) > 0);
    v = json_loads(doc, 0, NULL);
    assert_non_null(v);
    json_decref(v);

    /* The location goes into the stack trace, where Python's runtime put the
     * traceback; the message stays as it was. */
    error_set(&err, "NoSuchKey",
              "An error occurred (NoSuchKey) when calling the GetObject "
              "operation: The specified key does not exist.");
    error_where(&err, "GetObject s3://b/c/\"manifest\".json at byte offset 7");
    assert_true(runtime_api_error_json(&err, doc, sizeof doc) > 0);
    v = json_loads(doc, 0, NULL);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "errorMessage")),
                        "An error occurred (NoSuchKey) when calling the GetObject operation: The "
                        "specified key does not exist.");
    trace = json_object_get(v, "stackTrace");
    assert_int_equal(json_array_size(trace), 1);
    assert_string_equal(json_string_value(json_array_get(trace, 0)),
                        "GetObject s3://b/c/\"manifest\".json at byte offset 7");
    json_decref(v);

    /* No type: still a document Lambda accepts. */
    error_clear(&err);
    assert_true(runtime_api_error_json(&err, doc, sizeof doc) > 0);
    v = json_loads(doc, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(v, "errorType")), "Unknown");
    json_decref(v);

    assert_int_equal(runtime_api_error_json(&err, doc, 16), -1);
}

/* The error type header passes Lambda's rule, (Runtime|Function).Name with a
 * capital and letters; anything else would be reported as Runtime.Unknown. */
static void test_error_type_header(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"InvalidEvent", "Function.InvalidEvent"},
        {"NoSuchKey", "Function.NoSuchKey"},
        {"Timeout", "Function.Timeout"},
        {"Http500Error", "Function.HttpError"},
        {"Bad-Type_x", "Function.BadTypex"},
        {"lowercase", "Function.Unknown"},
        {"X", "Function.Unknown"},
        {"", "Function.Unknown"},
        {"\r\nInjected: 1", "Function.Injected"},
    };
    char out[128];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_true(runtime_api_error_type_header(cases[i][0], out, sizeof out) > 0);
        assert_string_equal(out, cases[i][1]);
    }
    assert_int_equal(runtime_api_error_type_header("InvalidEvent", out, 10), -1);
}

/* The X-Ray error cause: aws-lambda-go's shape, one header line of ASCII. */
static void test_xray_cause(void **state)
{
    (void)state;
    struct error err;
    error_set(&err, "NoSuchKey", "key c/\xc3\x9c\n\"x\" is missing");
    char out[16384];
    int n = runtime_api_xray_cause(&err, "/var/task", out, sizeof out);
    assert_true(n > 0);
    for (int i = 0; i < n; i++)
        assert_true(out[i] >= 0x20 && out[i] < 0x7f);
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "working_directory")), "/var/task");
    assert_int_equal(json_array_size(json_object_get(doc, "paths")), 0);
    json_t *ex = json_array_get(json_object_get(doc, "exceptions"), 0);
    assert_string_equal(json_string_value(json_object_get(ex, "type")), "NoSuchKey");
    assert_string_equal(json_string_value(json_object_get(ex, "message")),
                        "key c/??\n\"x\" is missing");
    assert_int_equal(json_array_size(json_object_get(ex, "stack")), 0);
    json_decref(doc);

    /* The location is X-Ray's one stack frame, its label; a key's bytes above
     * ASCII and control characters become '?'. */
    error_where(&err, "GetObject s3://b/c/\xc3\x9c\n.json");
    n = runtime_api_xray_cause(&err, "/var/task", out, sizeof out);
    assert_true(n > 0);
    for (int i = 0; i < n; i++)
        assert_true(out[i] >= 0x20 && out[i] < 0x7f);
    doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    ex = json_array_get(json_object_get(doc, "exceptions"), 0);
    json_t *frame = json_array_get(json_object_get(ex, "stack"), 0);
    assert_int_equal(json_array_size(json_object_get(ex, "stack")), 1);
    assert_string_equal(json_string_value(json_object_get(frame, "label")),
                        "GetObject s3://b/c/???.json");
    assert_string_equal(json_string_value(json_object_get(frame, "path")), "");
    assert_int_equal(json_integer_value(json_object_get(frame, "line")), 0);
    json_decref(doc);

    /* Bounded whatever the message: the longest error fits well under the
     * 64 KiB the Runtime API keeps. */
    char big[ERROR_MESSAGE_MAX + 100];
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    error_set(&err, "Timeout", "%s", big);
    char path[400];
    memset(path, '\x01', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    n = runtime_api_xray_cause(&err, path, out, sizeof out);
    assert_true(n > 0 && n < 9 * 1024);
    char where[ERROR_WHERE_MAX + 100];
    memset(where, '\x02', sizeof where - 1);
    where[sizeof where - 1] = '\0';
    error_where(&err, "%s", where);
    n = runtime_api_xray_cause(&err, path, out, sizeof out);
    assert_true(n > 0 && n < 12 * 1024);
}

/* A step that stops in its margin says how long before the deadline; one
 * whose deadline had passed before it could start says by how much, never a
 * negative "before". */
static void test_timeout_messages(void **state)
{
    (void)state;
    struct read_stats seen = {.entries = 12, .result_files = 1, .bytes_read = 4096};
    struct error err;
    assert_int_equal(lambda_timeout_error(NOW, NOW + 1500, &seen, &err), -1);
    assert_string_equal(err.type, ERR_TIMEOUT);
    assert_non_null(strstr(err.message, "stopped 1500 ms before its Lambda deadline"));
    assert_non_null(strstr(err.message, "after 12 entries from 1 result files"));

    assert_int_equal(lambda_timeout_error(NOW + 5000, NOW, &seen, &err), -1);
    assert_string_equal(err.type, ERR_TIMEOUT);
    assert_non_null(strstr(err.message, "deadline had passed 5000 ms before the step"));
    assert_null(strstr(err.message, "-5000"));
    assert_null(strstr(err.message, "before its Lambda deadline"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout_messages),
        cmocka_unit_test(test_margin_before_a_long_deadline),
        cmocka_unit_test(test_short_budget_keeps_half),
        cmocka_unit_test(test_deadline_already_past),
        cmocka_unit_test(test_absent_or_implausible_deadline),
        cmocka_unit_test(test_error_document),
        cmocka_unit_test(test_error_type_header),
        cmocka_unit_test(test_xray_cause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
