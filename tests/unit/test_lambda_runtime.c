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
    int n = lambda_error_json(&err, doc, sizeof doc);
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
    assert_true(lambda_error_json(&err, doc, sizeof doc) > 0);
    v = json_loads(doc, 0, NULL);
    assert_non_null(v);
    json_decref(v);

    /* No type: still a document Lambda accepts. */
    error_clear(&err);
    assert_true(lambda_error_json(&err, doc, sizeof doc) > 0);
    v = json_loads(doc, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(v, "errorType")), "Unknown");
    json_decref(v);

    assert_int_equal(lambda_error_json(&err, doc, 16), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_margin_before_a_long_deadline),
        cmocka_unit_test(test_short_budget_keeps_half),
        cmocka_unit_test(test_deadline_already_past),
        cmocka_unit_test(test_absent_or_implausible_deadline),
        cmocka_unit_test(test_error_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
