/* The per-invocation EMF summary, parsed back with jansson: the CloudWatch
 * Embedded Metric Format structure, the values, and what rides along. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "emf.h"

static json_t *format(const struct emf_summary *s)
{
    char line[4096];
    int n = emf_format(s, line, sizeof line);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(line));
    assert_null(strchr(line, '\n')); /* one log line */
    json_error_t jerr;
    json_t *doc = json_loads(line, 0, &jerr);
    if (!doc)
        fail_msg("not JSON (%s): %s", jerr.text, line);
    return doc;
}

static const char *str(json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

static void test_structure_and_values(void **state)
{
    (void)state;
    struct step_stats stats = {{100000, 3, 123456789012ULL}, 98765432ULL, 2, 1};
    struct emf_summary s = {
        1700000000123LL, "tdr-backend-checks-results-intg", "req-1", NULL, &stats, 4321, NULL};
    json_t *doc = format(&s);

    json_t *aws = json_object_get(doc, "_aws");
    assert_true(json_is_object(aws));
    assert_int_equal(json_integer_value(json_object_get(aws, "Timestamp")), 1700000000123LL);
    json_t *directives = json_object_get(aws, "CloudWatchMetrics");
    assert_int_equal(json_array_size(directives), 1);
    json_t *d = json_array_get(directives, 0);
    assert_string_equal(str(d, "Namespace"), "TDR/BackendChecksResults");
    json_t *dims = json_object_get(d, "Dimensions");
    assert_int_equal(json_array_size(dims), 1);
    assert_int_equal(json_array_size(json_array_get(dims, 0)), 1);
    assert_string_equal(json_string_value(json_array_get(json_array_get(dims, 0), 0)),
                        "FunctionName");

    /* Every metric declared has a numeric member of that name in the root,
     * and its unit is one CloudWatch knows. */
    const char *names[] = {"Entries",   "ResultFiles",  "FailedResultFiles", "PendingResultFiles",
                           "BytesRead", "BytesWritten", "Duration"};
    const char *units[] = {"Count", "Count", "Count", "Count", "Bytes", "Bytes", "Milliseconds"};
    const long long values[] = {100000, 3, 2, 1, 123456789012LL, 98765432, 4321};
    enum { METRICS = sizeof names / sizeof *names };
    json_t *metrics = json_object_get(d, "Metrics");
    assert_int_equal(json_array_size(metrics), METRICS);
    for (size_t i = 0; i < METRICS; i++) {
        json_t *m = json_array_get(metrics, i);
        assert_string_equal(str(m, "Name"), names[i]);
        assert_string_equal(str(m, "Unit"), units[i]);
        assert_int_equal(json_object_size(m), 2);
        json_t *v = json_object_get(doc, names[i]);
        assert_true(json_is_integer(v));
        assert_int_equal(json_integer_value(v), values[i]);
    }
    assert_string_equal(str(doc, "FunctionName"), "tdr-backend-checks-results-intg");
    assert_string_equal(str(doc, "requestId"), "req-1");
    assert_null(json_object_get(doc, "errorType"));
    assert_int_equal(json_object_size(doc), 1 + 1 + METRICS + 1);
    json_decref(doc);
}

static void test_failed_invocation_carries_its_error_type(void **state)
{
    (void)state;
    struct step_stats stats = {{7, 1, 2048}, 0, 0, 0};
    struct emf_summary s = {1, "f", "req-2", "NoSuchKey", &stats, 12, NULL};
    json_t *doc = format(&s);
    assert_string_equal(str(doc, "errorType"), "NoSuchKey");
    assert_int_equal(json_integer_value(json_object_get(doc, "Entries")), 7);
    assert_int_equal(json_integer_value(json_object_get(doc, "BytesWritten")), 0);
    json_decref(doc);
}

/* CloudWatch drops a record whose dimension value is empty: a default stands in. */
static void test_missing_names_and_negative_duration(void **state)
{
    (void)state;
    struct step_stats stats = {0};
    struct emf_summary s = {1, NULL, NULL, "", &stats, -5, NULL};
    json_t *doc = format(&s);
    assert_string_equal(str(doc, "FunctionName"), EMF_DEFAULT_FUNCTION_NAME);
    assert_null(json_object_get(doc, "requestId"));
    assert_null(json_object_get(doc, "errorType"));
    assert_int_equal(json_integer_value(json_object_get(doc, "Duration")), 0);
    json_decref(doc);
    s.function_name = "";
    doc = format(&s);
    assert_string_equal(str(doc, "FunctionName"), EMF_DEFAULT_FUNCTION_NAME);
    json_decref(doc);
}

/* Names from the environment and the Runtime API are escaped, never spliced. */
static void test_strings_are_escaped(void **state)
{
    (void)state;
    struct step_stats stats = {0};
    struct emf_summary s = {1, "fn\"x\n", "id\\\"}", "Type\t", &stats, 0, NULL};
    json_t *doc = format(&s);
    assert_string_equal(str(doc, "FunctionName"), "fn\"x\n");
    assert_string_equal(str(doc, "requestId"), "id\\\"}");
    assert_string_equal(str(doc, "errorType"), "Type\t");
    json_decref(doc);
}

static void test_too_small_a_buffer_fails(void **state)
{
    (void)state;
    struct step_stats stats = {{1, 1, 1}, 1, 1, 1};
    struct emf_summary s = {1, "f", "r", NULL, &stats, 1, NULL};
    char line[64];
    assert_int_equal(emf_format(&s, line, sizeof line), -1);
}

/* A level (the one Lambda's filter lets through) and an RFC 3339 timestamp
 * go along, so that Lambda does not count the record as INFO and drop it. */
static void test_level_and_timestamp_for_lambdas_filter(void **state)
{
    (void)state;
    struct step_stats stats = {{1, 1, 1}, 1, 0, 0};
    struct emf_summary s = {1738633790099LL, "f", "r", NULL, &stats, 1, "ERROR"};
    json_t *doc = format(&s);
    assert_string_equal(str(doc, "level"), "ERROR");
    assert_string_equal(str(doc, "timestamp"), "2025-02-04T01:49:50.099Z");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "_aws"), "Timestamp")),
                     1738633790099LL);
    assert_int_equal(json_object_size(doc), 1 + 1 + 7 + 1 + 2);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_and_timestamp_for_lambdas_filter),
        cmocka_unit_test(test_structure_and_values),
        cmocka_unit_test(test_failed_invocation_carries_its_error_type),
        cmocka_unit_test(test_missing_names_and_negative_duration),
        cmocka_unit_test(test_strings_are_escaped),
        cmocka_unit_test(test_too_small_a_buffer_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
