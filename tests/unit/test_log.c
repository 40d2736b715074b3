/* Logging as Lambda reads it: AWS_LAMBDA_LOG_FORMAT=JSON gives one JSON object
 * per line (parsed back with jansson), anything else plain text;
 * AWS_LAMBDA_LOG_LEVEL filters; the request id is on every line while set;
 * EMF lines go out verbatim. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "settings.h"

struct capture {
    char *text;
    size_t len;
    FILE *stream;
};

/* Sets the two variables (NULL: unset), re-reads them, and captures lines. */
static void start(struct capture *c, const char *format, const char *level)
{
    if (format)
        setenv("AWS_LAMBDA_LOG_FORMAT", format, 1);
    else
        unsetenv("AWS_LAMBDA_LOG_FORMAT");
    if (level)
        setenv("AWS_LAMBDA_LOG_LEVEL", level, 1);
    else
        unsetenv("AWS_LAMBDA_LOG_LEVEL");
    log_configure(settings_env(SETTING_AWS_LAMBDA_LOG_FORMAT),
                  settings_env(SETTING_AWS_LAMBDA_LOG_LEVEL));
    log_set_request_id(NULL);
    c->text = NULL;
    c->len = 0;
    c->stream = open_memstream(&c->text, &c->len);
    assert_non_null(c->stream);
    log_set_stream(c->stream);
}

static const char *finish(struct capture *c)
{
    log_set_stream(NULL);
    fclose(c->stream);
    return c->text;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

/* Parses the only line of text as a JSON object. */
static json_t *only_json_line(const char *text)
{
    assert_int_equal(count_lines(text), 1);
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (!v)
        fail_msg("not JSON (%s): %s", jerr.text, text);
    assert_true(json_is_object(v));
    return v;
}

static const char *str(json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

static void assert_timestamp(const char *ts)
{
    /* 2025-02-04T01:49:50.099Z */
    assert_non_null(ts);
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[4], '-');
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[19], '.');
    assert_int_equal(ts[23], 'Z');
}

static void test_json_line_has_every_member(void **state)
{
    (void)state;
    struct capture c;
    start(&c, "JSON", NULL);
    log_set_request_id("8f5e-req");
    log_fields(LOG_WARN, "s3 request \"failed\"", "key", "a/b\nc\t\x01", "retry", "2", LOG_END);
    json_t *v = only_json_line(finish(&c));
    assert_timestamp(str(v, "timestamp"));
    assert_string_equal(str(v, "level"), "WARN");
    assert_string_equal(str(v, "requestId"), "8f5e-req");
    assert_string_equal(str(v, "message"), "s3 request \"failed\"");
    assert_string_equal(str(v, "key"), "a/b\nc\t\x01");
    assert_string_equal(str(v, "retry"), "2");
    assert_int_equal(json_object_size(v), 6);
    json_decref(v);
    free(c.text);
    log_set_request_id(NULL);
}

static void test_json_without_request_id_and_printf(void **state)
{
    (void)state;
    struct capture c;
    start(&c, "json", NULL); /* the value is case-insensitive */
    log_msg(LOG_INFO, "%d entries from %s", 42, "s3://b/k");
    json_t *v = only_json_line(finish(&c));
    assert_null(json_object_get(v, "requestId"));
    assert_string_equal(str(v, "message"), "42 entries from s3://b/k");
    assert_string_equal(str(v, "level"), "INFO");
    json_decref(v);
    free(c.text);
}

/* Invalid UTF-8 (an object key can hold any bytes) still makes valid JSON. */
static void test_json_invalid_utf8_is_escaped(void **state)
{
    (void)state;
    struct capture c;
    start(&c, "JSON", NULL);
    log_fields(LOG_ERROR, "bad \xc3 byte", "key", "\xff\xfe", LOG_END);
    json_t *v = only_json_line(finish(&c));
    assert_string_equal(str(v, "level"), "ERROR");
    json_decref(v);
    free(c.text);
}

static void test_text_format(void **state)
{
    (void)state;
    struct capture c;
    start(&c, NULL, NULL);
    log_set_request_id("req-7");
    log_fields(LOG_INFO, "results written", "key", "c/u/results.json", "entries", "3", LOG_END);
    log_set_request_id(NULL);
    log_msg(LOG_ERROR, "plain");
    const char *text = finish(&c);
    assert_int_equal(count_lines(text), 2);
    assert_int_equal(text[4], '-');
    assert_non_null(
        strstr(text, "Z\treq-7\tINFO\tresults written key=c/u/results.json entries=3\n"));
    assert_non_null(strstr(text, "Z\t\tERROR\tplain\n"));
    free(c.text);
}

/* Only JSON switches format; anything else (unset, "Text", junk) is text. */
static void test_other_formats_are_text(void **state)
{
    (void)state;
    struct capture c;
    start(&c, "Text", NULL);
    log_msg(LOG_INFO, "hello");
    const char *text = finish(&c);
    assert_int_not_equal(text[0], '{');
    assert_non_null(strstr(text, "\tINFO\thello\n"));
    free(c.text);
}

static void test_levels_filter(void **state)
{
    (void)state;
    struct capture c;
    start(&c, "JSON", NULL); /* default INFO */
    assert_false(log_enabled(LOG_DEBUG));
    log_msg(LOG_DEBUG, "hidden");
    log_msg(LOG_INFO, "shown");
    const char *text = finish(&c);
    assert_int_equal(count_lines(text), 1);
    assert_non_null(strstr(text, "shown"));
    free(c.text);

    start(&c, "JSON", "warn");
    log_msg(LOG_INFO, "hidden");
    log_msg(LOG_WARN, "warned");
    log_msg(LOG_FATAL, "fatal");
    text = finish(&c);
    assert_int_equal(count_lines(text), 2);
    assert_null(strstr(text, "hidden"));
    free(c.text);

    start(&c, NULL, "TRACE");
    assert_true(log_enabled(LOG_TRACE));
    log_msg(LOG_TRACE, "traced");
    text = finish(&c);
    assert_non_null(strstr(text, "\tTRACE\ttraced\n"));
    free(c.text);

    start(&c, NULL, "nonsense"); /* falls back to INFO */
    assert_false(log_enabled(LOG_DEBUG));
    assert_true(log_enabled(LOG_INFO));
    finish(&c);
    free(c.text);
}

/* EMF records go out as given, in either format, at every level: they are metrics. */
static void test_raw_lines(void **state)
{
    (void)state;
    const char *emf = "{\"_aws\":{\"Timestamp\":1},\"Entries\":1}";
    struct capture c;
    start(&c, "JSON", NULL);
    log_set_request_id("r");
    log_raw_line(emf);
    log_set_request_id(NULL);
    const char *text = finish(&c);
    assert_string_equal(text, "{\"_aws\":{\"Timestamp\":1},\"Entries\":1}\n");
    free(c.text);

    start(&c, NULL, NULL);
    log_raw_line(emf);
    text = finish(&c);
    assert_string_equal(text, "{\"_aws\":{\"Timestamp\":1},\"Entries\":1}\n");
    free(c.text);

    start(&c, NULL, "FATAL");
    log_raw_line(emf);
    text = finish(&c);
    assert_string_equal(text, "{\"_aws\":{\"Timestamp\":1},\"Entries\":1}\n");
    free(c.text);
}

/* A line too long for the buffer is replaced by a notice in the same format. */
static void test_overlong_line_keeps_the_format(void **state)
{
    (void)state;
    static char big[20000];
    memset(big, 'x', sizeof big - 1);
    struct capture c;
    start(&c, "JSON", NULL);
    log_fields(LOG_WARN, "long field", "field", big, LOG_END);
    const char *text = finish(&c);
    json_t *line = json_loads(text, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(line);
    assert_non_null(strstr(json_string_value(json_object_get(line, "message")), "dropped"));
    assert_string_equal(json_string_value(json_object_get(line, "level")), "WARN");
    json_decref(line);
    free(c.text);

    /* A long formatted message is cut, visibly. */
    start(&c, NULL, NULL);
    log_msg(LOG_INFO, "%s", big);
    text = finish(&c);
    assert_non_null(strstr(text, "xxx...\n"));
    free(c.text);
}

/* In text format a value cannot forge a line: control characters are escaped. */
static void test_text_format_escapes_control_characters(void **state)
{
    (void)state;
    struct capture c;
    start(&c, NULL, NULL);
    log_fields(LOG_INFO, "reading\r", "key", "r/a\n2026-11-21T00:00:00.000Z ERROR forged\x01",
               LOG_END);
    const char *text = finish(&c);
    assert_int_equal(count_lines(text), 1);
    assert_non_null(
        strstr(text, "reading\\r key=r/a\\n2026-11-21T00:00:00.000Z ERROR forged\\x01\n"));
    free(c.text);

    /* A request id is escaped too, so it cannot add a column or a line. */
    start(&c, NULL, NULL);
    log_set_request_id("r\tx\ny");
    log_msg(LOG_INFO, "m");
    log_set_request_id(NULL);
    text = finish(&c);
    assert_int_equal(count_lines(text), 1);
    assert_non_null(strstr(text, "Z\tr\\tx\\ny\tINFO\tm\n"));
    free(c.text);
}

/* Typed fields: numbers and booleans are JSON numbers and booleans, strings
 * stay strings, and plain (name, value) pairs still work beside them. */
static void test_typed_fields(void **state)
{
    (void)state;
    struct capture c;
    start(&c, "JSON", NULL);
    log_fields(LOG_INFO, "typed", LOG_U64("entries", 123456789012u), LOG_I64("left", -5),
               LOG_BOOL("ok", 1), LOG_BOOL("no", 0), LOG_STR("key", "a/b"), "plain", "7",
               LOG_STR("none", NULL), LOG_END);
    json_t *v = only_json_line(finish(&c));
    assert_true(json_is_integer(json_object_get(v, "entries")));
    assert_int_equal(json_integer_value(json_object_get(v, "entries")), 123456789012);
    assert_true(json_is_integer(json_object_get(v, "left")));
    assert_int_equal(json_integer_value(json_object_get(v, "left")), -5);
    assert_true(json_is_true(json_object_get(v, "ok")));
    assert_true(json_is_false(json_object_get(v, "no")));
    assert_string_equal(str(v, "key"), "a/b");
    assert_string_equal(str(v, "plain"), "7");
    assert_string_equal(str(v, "none"), "");
    json_decref(v);
    free(c.text);
    /* The whole uint64_t range, exactly and unquoted. */
    start(&c, "JSON", NULL);
    log_fields(LOG_INFO, "typed", LOG_U64("entries", UINT64_MAX), LOG_END);
    const char *text = finish(&c);
    assert_non_null(strstr(text, "\"entries\":18446744073709551615}"));
    free(c.text);

    start(&c, NULL, NULL);
    log_fields(LOG_WARN, "typed", LOG_U64("entries", 3), LOG_I64("left", -5), LOG_BOOL("ok", 1),
               "plain", "x", LOG_END);
    text = finish(&c);
    assert_non_null(strstr(text, "\tWARN\ttyped entries=3 left=-5 ok=true plain=x\n"));
    free(c.text);
}

/* The level a record must carry to pass Lambda's filter: never below INFO
 * (a line without a level counts as INFO), else the configured level. */
static void test_passing_level(void **state)
{
    (void)state;
    static const char *const cases[][2] = {{NULL, "INFO"},    {"TRACE", "INFO"}, {"DEBUG", "INFO"},
                                           {"INFO", "INFO"},  {"WARN", "WARN"},  {"error", "ERROR"},
                                           {"FATAL", "FATAL"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct capture c;
        start(&c, "JSON", cases[i][0]);
        assert_string_equal(log_passing_level_name(), cases[i][1]);
        finish(&c);
        free(c.text);
    }
    char ts[40];
    log_format_time(INT64_C(1738633790099), ts, sizeof ts);
    assert_string_equal(ts, "2025-02-04T01:49:50.099Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_line_has_every_member),
        cmocka_unit_test(test_json_without_request_id_and_printf),
        cmocka_unit_test(test_json_invalid_utf8_is_escaped),
        cmocka_unit_test(test_text_format),
        cmocka_unit_test(test_other_formats_are_text),
        cmocka_unit_test(test_levels_filter),
        cmocka_unit_test(test_raw_lines),
        cmocka_unit_test(test_overlong_line_keeps_the_format),
        cmocka_unit_test(test_text_format_escapes_control_characters),
        cmocka_unit_test(test_typed_fields),
        cmocka_unit_test(test_passing_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
