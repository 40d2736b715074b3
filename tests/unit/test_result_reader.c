/* The result-file reader over chunked sources: array and JSON Lines files in
 * each transformation give the same output at every chunk size, and errors
 * say which entry, with its Name and byte offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunked.h"
#include "memsink.h"
#include "result_reader.h"

struct outcome {
    char text[4096]; /* the results array body, or the error */
    uint64_t entries;
    bool ok;
};

static void stream(const char *file, enum transformation t, size_t chunk, struct outcome *o)
{
    struct error err = {{0}, {0}, {0}};
    struct result_reader *r = result_reader_new(&err);
    assert_non_null(r);
    struct chunked src;
    chunked_init(&src, file, strlen(file), chunk);
    struct memsink c;
    memsink_init(&c);
    struct output out = {.sink = c.sink};
    out.sink.ctx = &c;
    struct read_stats stats = {0};
    o->ok = result_reader_stream_source(r, &src.src, "s3://b/f.json", t, &out, &stats, &err) == 0;
    c.sink = out.sink;
    if (o->ok)
        snprintf(o->text, sizeof o->text, "%s", memsink_text(&c));
    else
        snprintf(o->text, sizeof o->text, "%s: %s", err.type, err.message);
    o->entries = stats.entries;
    memsink_free(&c);
    chunked_free(&src);
    result_reader_free(r);
}

static void expect(const char *file, enum transformation t, const char *text, uint64_t entries)
{
    for (size_t chunk = 1; chunk <= 40; chunk += chunk < 8 ? 1 : 16) {
        struct outcome o;
        stream(file, t, chunk, &o);
        if (!o.ok || strcmp(o.text, text) != 0)
            fail_msg("chunk %zu: got \"%s\", expected \"%s\"", chunk, o.text, text);
        assert_int_equal(o.entries, entries);
    }
}

static void expect_error(const char *file, enum transformation t, const char *type,
                         const char *part)
{
    for (size_t chunk = 1; chunk <= 40; chunk += chunk < 8 ? 1 : 16) {
        struct outcome o;
        stream(file, t, chunk, &o);
        if (o.ok || strncmp(o.text, type, strlen(type)) != 0 || !strstr(o.text, part))
            fail_msg("chunk %zu: got \"%s\", expected %s with \"%s\"", chunk, o.text, type, part);
    }
}

static void test_array_file(void **state)
{
    (void)state;
    expect("[{\"ExecutionArn\": \"a\", \"Input\": \"{}\", \"InputDetails\": {\"Included\": true},"
           " \"Name\": \"n1\", \"Output\": \"{\\\"x\\\": [1, 2.50]}\", \"RedriveCount\": 0},"
           " {\"Output\": \"\\\"s\\\\u00e9\\\"\", \"Status\": \"SUCCEEDED\"}]",
           TRANSFORM_NONE, "{\"x\":[1,2.50]},\"s\\u00e9\"", 2);
    expect("[]", TRANSFORM_NONE, "", 0);
    expect(" [ ] \n", TRANSFORM_NONE, "", 0);
}

static void test_json_lines_file(void **state)
{
    (void)state;
    expect("{\"Output\": \"1\"}\n{\"Output\": \"[true]\"}\r\n", TRANSFORM_NONE, "1,[true]", 2);
    expect("{\"Output\": \"1\"}", TRANSFORM_NONE, "1", 1);
}

static void test_compact_and_flatten(void **state)
{
    (void)state;
    expect("[{\"a\": 1}, [1, 2], []]", TRANSFORM_COMPACT, "{\"a\":1},[1,2],[]", 3);
    expect("[{\"a\": 1}, [1, 2], []]", TRANSFORM_FLATTEN, "{\"a\":1},1,2", 3);
    expect("{\"a\": 1}\n\"x\"\n", TRANSFORM_COMPACT, "{\"a\":1},\"x\"", 2);
    expect("{\"a\": 1}\n[[3], 4]\n", TRANSFORM_FLATTEN, "{\"a\":1},[3],4", 3);
}

static void test_errors_name_the_entry(void **state)
{
    (void)state;
    expect_error("[{\"Output\": \"1\"}, {\"Name\": \"exec-9\", \"Output\": \"{\\\"a\\\": }\"}]",
                 TRANSFORM_NONE, "InvalidOutput",
                 "s3://b/f.json: entry 1 (Name exec-9) at byte offset 18: Output is not one "
                 "valid JSON document: invalid JSON at byte offset 6");
    expect_error("[{\"Output\": 1}]", TRANSFORM_NONE, "InvalidResultFile", "not a string");
    expect_error("[{\"Output\": \"1\", \"Output\": \"2\"}]", TRANSFORM_NONE, "InvalidResultFile",
                 "twice");
    expect_error("[{\"Output\": \"1\",}]", TRANSFORM_NONE, "InvalidResultFile", "entry 0");
    expect_error("[{\"Output\": \"1\"},]", TRANSFORM_NONE, "InvalidResultFile", "entry 1");
    expect_error("[{\"Output\": \"1\"}] [", TRANSFORM_NONE, "InvalidResultFile", "trailing");
    expect_error("[1, 2", TRANSFORM_COMPACT, "InvalidResultFile", "truncated");
    expect_error("\"just a string\"", TRANSFORM_NONE, "InvalidResultFile", "entry 0");
    expect_error("", TRANSFORM_NONE, "InvalidResultFile", "empty");
    expect_error("[[1 2]]", TRANSFORM_FLATTEN, "InvalidOutput", "entry 0");
    expect_error("[[1] [2]]", TRANSFORM_FLATTEN, "InvalidResultFile", "after entry 0");
}

/* results.json is ASCII: non-ASCII characters, raw or decoded from the
 * Output string's escapes, come out as escapes; escapes inside the Output's
 * own text stay as written; lone surrogates pass through as escapes. */
static void test_output_is_ascii(void **state)
{
    (void)state;
    expect("[{\"Name\": \"caf\xc3\xa9\", \"Output\": \"{\\\"k\xc3\xbc\\\": "
           "[\\\"\\u00fc\\\", \\\"\\\\u00DC\xe2\x9c\x93\\\", "
           "\\\"\\ud83d\\ude00\xf0\x9f\x98\x80\\\"]}\"}]",
           TRANSFORM_NONE,
           "{\"k\\u00fc\":[\"\\u00fc\",\"\\u00DC\\u2713\",\"\\ud83d\\ude00\\ud83d\\ude00\"]}", 1);
    expect("[{\"Output\": \"[\\\"\\ud800\\\", \\\"\\uDC00x\\\", \\\"\\\\ud800\\\"]\"}]",
           TRANSFORM_NONE, "[\"\\ud800\",\"\\udc00x\",\"\\ud800\"]", 1);
    /* A lone surrogate in Name is only quoted in messages. */
    expect("[{\"Name\": \"\\ud800\", \"Output\": \"1\"}]", TRANSFORM_NONE, "1", 1);
    expect("[{\"\xc3\xa9\": \"\xf0\x9f\x98\x80\"}, [\"\xe2\x9c\x93\"]]", TRANSFORM_FLATTEN,
           "{\"\\u00e9\":\"\\ud83d\\ude00\"},\"\\u2713\"", 2);
    expect("{\"\xc3\xa9\": \"\\u00E9\"}\n", TRANSFORM_COMPACT, "{\"\\u00e9\":\"\\u00E9\"}", 1);
    /* Raw surrogate bytes in a file are invalid UTF-8. */
    expect_error("[{\"Output\": \"\\\"\xed\xa0\x80\\\"\"}]", TRANSFORM_NONE, "InvalidOutput",
                 "invalid UTF-8");
}

static void test_json_lines_one_entry_per_line(void **state)
{
    (void)state;
    expect_error("{\"Output\": \"1\"} {\"Output\": \"2\"}\n", TRANSFORM_NONE, "InvalidResultFile",
                 "s3://b/f.json: entry 1 at byte offset 16 starts on the line of entry 0");
    expect_error("{\"a\": 1}\n2 3\n", TRANSFORM_COMPACT, "InvalidResultFile",
                 "entry 2 at byte offset 11 starts on the line of entry 1");
    expect("{\"a\": 1}\n\n  2\t\r\n", TRANSFORM_COMPACT, "{\"a\":1},2", 2);
}

static void test_output_left_out_by_step_functions(void **state)
{
    (void)state;
    expect_error("[{\"Name\": \"exec-3\", \"OutputDetails\": {\"Included\": false}}]",
                 TRANSFORM_NONE, "InvalidOutput",
                 "s3://b/f.json: entry 0 (Name exec-3) at byte offset 1: the entry has no Output: "
                 "Step Functions left it out of the result file");
    expect_error(
        "[{\"Output\": \"1\"}, {\"Output\": \"\", \"Name\": \"e\", "
        "\"OutputDetails\": {\"Other\": [1], \"Included\": false}}]",
        TRANSFORM_NONE, "InvalidOutput",
        "entry 1 (Name e) at byte offset 18: the entry has no Output: Step Functions left it out");
    expect("[{\"Output\": \"1\", \"OutputDetails\": {\"Included\": true}}]", TRANSFORM_NONE, "1",
           1);
}

/* The same size limit for an output in every transformation. */
static void test_output_size_limit(void **state)
{
    (void)state;
    size_t n = RESULT_OUTPUT_MAX + 64;
    char *file = malloc(n + 64);
    assert_non_null(file);
    for (int t = TRANSFORM_NONE; t <= TRANSFORM_FLATTEN; t++) {
        for (size_t size = RESULT_OUTPUT_MAX; size <= RESULT_OUTPUT_MAX + 1; size++) {
            /* An output of `size` bytes: a string value "xxx...". */
            size_t k = (size_t)sprintf(file, t == TRANSFORM_NONE ? "[{\"Output\": \"\\\"" : "[\"");
            memset(file + k, 'x', size - 2);
            k += size - 2;
            strcpy(file + k, t == TRANSFORM_NONE ? "\\\"\"}]" : "\"]");
            struct error err = {{0}, {0}, {0}};
            struct result_reader *r = result_reader_new(&err);
            assert_non_null(r);
            struct chunked src;
            chunked_init(&src, file, strlen(file), 65536);
            struct memsink c;
            memsink_init(&c);
            struct output out = {.sink = c.sink};
            out.sink.ctx = &c;
            struct read_stats stats = {0};
            int rc = result_reader_stream_source(r, &src.src, "s3://b/f.json",
                                                 (enum transformation)t, &out, &stats, &err);
            c.sink = out.sink;
            if (size == RESULT_OUTPUT_MAX) {
                if (rc != 0)
                    fail_msg("transformation %d refused %zu bytes: %s", t, size, err.message);
            } else {
                assert_int_not_equal(rc, 0);
                assert_string_equal(err.type, "InvalidOutput");
                assert_non_null(strstr(err.message, "1048576 bytes"));
            }
            memsink_free(&c);
            chunked_free(&src);
            result_reader_free(r);
        }
    }
    free(file);
}

static void test_long_names_are_cut_not_refused(void **state)
{
    (void)state;
    char file[2048];
    char name[600];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(file, sizeof file, "[{\"Name\": \"%s\", \"AVeryLongMemberNameIndeed\": 1}]", name);
    expect_error(file, TRANSFORM_NONE, "InvalidResultFile", "(Name nnnnnnnn");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_file),
        cmocka_unit_test(test_json_lines_file),
        cmocka_unit_test(test_compact_and_flatten),
        cmocka_unit_test(test_errors_name_the_entry),
        cmocka_unit_test(test_long_names_are_cut_not_refused),
        cmocka_unit_test(test_output_is_ascii),
        cmocka_unit_test(test_json_lines_one_entry_per_line),
        cmocka_unit_test(test_output_left_out_by_step_functions),
        cmocka_unit_test(test_output_size_limit),
    };
    return cmocka_run_group_tests_name("result_reader", tests, NULL, NULL);
}
