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
#include "mem.h"
#include "memsink.h"
#include "result_reader.h"

struct outcome {
    char text[4096]; /* the results array body, or the error */
    uint64_t entries;
    bool ok;
};

static void stream(const char *file, enum transformation t, size_t chunk, struct outcome *o)
{
    struct error err = {0};
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
            struct error err = {0};
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

/* Streams file (len bytes) in chunks of `chunk`; returns what was written
 * (caller frees) or NULL with err set. */
static char *stream_text(const char *file, size_t len, enum transformation t, size_t chunk,
                         struct error *err)
{
    struct result_reader *r = result_reader_new(err);
    assert_non_null(r);
    struct chunked src;
    chunked_init(&src, file, len, chunk);
    struct memsink c;
    memsink_init(&c);
    struct output out = {.sink = c.sink};
    out.sink.ctx = &c;
    struct read_stats stats = {0};
    int rc = result_reader_stream_source(r, &src.src, "s3://b/f.json", t, &out, &stats, err);
    c.sink = out.sink;
    char *text = rc == 0 ? mem_check(strdup(memsink_text(&c))) : NULL;
    memsink_free(&c);
    chunked_free(&src);
    result_reader_free(r);
    return text;
}

/* Outputs whose ASCII copy is longer than the Output: up to 1 MiB of 2-, 3-
 * and 4-byte characters and of DEL (6 bytes each as escapes), alone in their
 * batch or after others, in every transformation. */
static void test_outputs_that_grow_when_escaped(void **state)
{
    (void)state;
    static const struct {
        const char *utf8, *escape;
        size_t count;
    } chars[] = {
        {"\xc3\xa9", "\\u00e9", 185686},                                     /* 371 KB */
        {"\xc3\xa9", "\\u00e9", (RESULT_OUTPUT_MAX - 2) / 2},                /* 1 MiB */
        {"\xe6\x97\xa5", "\\u65e5", (RESULT_OUTPUT_MAX - 2) / 3},            /* 1 MiB of CJK */
        {"\xf0\x9f\x98\x80", "\\ud83d\\ude00", (RESULT_OUTPUT_MAX - 2) / 4}, /* emoji */
        {"\x7f", "\\u007f", RESULT_OUTPUT_MAX - 2},                          /* DEL */
    };
    for (size_t i = 0; i < sizeof chars / sizeof *chars; i++) {
        size_t u = strlen(chars[i].utf8), e = strlen(chars[i].escape), n = chars[i].count;
        char *file = malloc(n * u + 400000), *want = malloc(n * e + 400000);
        assert_true(file && want);
        for (int t = TRANSFORM_NONE; t <= TRANSFORM_FLATTEN; t++) {
            for (int alone = 0; alone < 2; alone++) {
                bool none = t == TRANSFORM_NONE;
                /* Before it (unless alone), 300 KB of other Outputs in the same batch. */
                size_t k = (size_t)sprintf(file, "[");
                size_t w = 0;
                for (int j = 0; !alone && j < 3; j++) {
                    k += (size_t)sprintf(file + k, none ? "{\"Output\": \"\\\"" : "\"");
                    memset(file + k, 'a', 100000);
                    k += 100000;
                    k += (size_t)sprintf(file + k, none ? "\\\"\"}, " : "\", ");
                    w += (size_t)sprintf(want + w, "\"");
                    memset(want + w, 'a', 100000);
                    w += 100000;
                    w += (size_t)sprintf(want + w, "\",");
                }
                k += (size_t)sprintf(file + k, none ? "{\"Output\": \"\\\"" : "\"");
                w += (size_t)sprintf(want + w, "\"");
                for (size_t j = 0; j < n; j++) {
                    memcpy(file + k + j * u, chars[i].utf8, u);
                    memcpy(want + w + j * e, chars[i].escape, e);
                }
                k += n * u;
                w += n * e;
                k += (size_t)sprintf(file + k, none ? "\\\"\"}]" : "\"]");
                w += (size_t)sprintf(want + w, "\"");
                struct error err = {0};
                char *got = stream_text(file, k, (enum transformation)t, 65536, &err);
                if (!got)
                    fail_msg("%zu x %s (transformation %d, alone %d): %s: %s", n, chars[i].escape,
                             t, alone, err.type, err.message);
                assert_int_equal(strlen(got), w);
                assert_memory_equal(got, want, w);
                free(got);
            }
        }
        free(file);
        free(want);
    }
}

/* What Python's json.loads reads in the members the step does not use is
 * skipped (NaN, Infinity, 1e400, integers of any length, lone surrogate and
 * \u0000 escapes); of several members of one name the last counts. */
static void test_members_read_as_python_reads_them(void **state)
{
    (void)state;
    static const char head[] =
        "[{\"RedriveCount\": NaN, \"StartDate\": Infinity, \"StopDate\": -Infinity, "
        "\"Size\": 1e400, \"Lone\": \"\\ud800\", \"Nul\": \"\\u0000\", \"Deep\": [[{\"a\": "
        "[NaN]}]], "
        "\"Name\": \"first\", \"Output\": \"{\\\"decoy\\\"\", \"OutputDetails\": {\"Included\": "
        "false}, "
        "\"Big\": ";
    static const char tail[] =
        ", \"Output\": \"[2, NaN]\", \"Output\": \"[2]\", \"Name\": \"last\", "
        "\"OutputDetails\": {\"Included\": false, \"Included\": true}}, "
        "{\"Output\": \"3\", \"Name\": 7, \"N\": -Infinity}]";
    size_t digits = 20000;
    char *file = malloc(sizeof head + digits + sizeof tail);
    assert_non_null(file);
    strcpy(file, head);
    memset(file + strlen(head), '9', digits);
    strcpy(file + strlen(head) + digits, tail);
    expect(file, TRANSFORM_NONE, "[2],3", 2);
    free(file);
    /* The last Output counts even when an earlier one is no string. */
    expect("[{\"Output\": 1, \"Output\": \"1\"}]", TRANSFORM_NONE, "1", 1);
    expect_error("[{\"Output\": \"1\", \"Output\": null}]", TRANSFORM_NONE, "InvalidResultFile",
                 "Output is not a string");
    expect_error("[{\"Name\": \"a\", \"Name\": \"b\", \"Output\": \"[1 2]\"}]", TRANSFORM_NONE,
                 "InvalidOutput", "(Name b)");
    expect_error(
        "[{\"Output\": \"\", \"OutputDetails\": {\"Included\": true, \"Included\": false}}]",
        TRANSFORM_NONE, "InvalidOutput", "Step Functions left it out");
    /* In an Output, NaN stays refused. */
    expect_error("[{\"Output\": \"[NaN]\", \"X\": NaN}]", TRANSFORM_NONE, "InvalidOutput",
                 "found 'N', expected a value");
    expect_error("[{\"a\": NaN}]", TRANSFORM_COMPACT, "InvalidOutput",
                 "found 'N', expected a value");
}

/* A file cut anywhere inside an entry is InvalidResultFile, "truncated?",
 * naming the entry, whatever value the cut falls in, in every format. */
static void test_cut_anywhere_is_the_files_fault(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        enum transformation t;
        const char *before; /* what comes just before entry 1 */
    } cases[] = {
        {"[{\"Name\": \"e0\", \"Output\": \"1\"}, {\"Name\": \"e\\u00e9\xc3\xa9\", \"Output\": "
         "\"{\\\"a\\\": [1, -2.5e3, \\\"\\\\u00e9x\xe2\x9c\x93\\\", true, null]}\", "
         "\"RedriveCount\": NaN, \"OutputDetails\": {\"Included\": true}}]",
         TRANSFORM_NONE, "}, "},
        {"{\"Name\": \"e0\", \"Output\": \"1\"}\n{\"Output\": \"[\\\"\xf0\x9f\x98\x80\\\", "
         "false]\", "
         "\"Name\": \"e1\", \"X\": -Infinity}\n",
         TRANSFORM_NONE, "\n"},
        {"[{\"a\": 1}, {\"b\": [1, \"x\xc3\xa9\\u00e9\", {\"c\": null}], \"d\": -0.5e3, \"e\": "
         "true}]",
         TRANSFORM_COMPACT, "}, "},
        {"{\"a\": 1}\n{\"b\": [1, \"x\xc3\xa9\", {\"c\": false}]}\n", TRANSFORM_COMPACT, "\n"},
        {"[[1], [{\"b\": [1, \"x\xc3\xa9\"]}, \"\\u00e9\", false]]", TRANSFORM_FLATTEN, "], "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *file = cases[i].file;
        size_t start = (size_t)(strstr(file, cases[i].before) - file) + strlen(cases[i].before);
        /* The entry ends at its closing bracket (found by the reader itself: the
         * full file is valid). */
        struct error err = {0};
        char *whole = stream_text(file, strlen(file), cases[i].t, 7, &err);
        if (!whole)
            fail_msg("case %zu: %s", i, err.message);
        free(whole);
        assert_true(file[start] == '{' || file[start] == '[');
        char closing = file[start] == '{' ? '}' : ']';
        size_t end = strlen(file);
        while (end > start && file[end - 1] != closing)
            end--;
        if (file[end - 1] == ']' && file[end - 2] == ']') /* the file's own ']' */
            end--;
        for (size_t cut = start + 1; cut < end; cut++) {
            if ((file[cut] & 0xc0) == 0x80 && cut > 0 && (file[cut - 1] & 0xc0) == 0x80)
                continue; /* also covered: cut inside a character, at its first trail byte */
            for (size_t chunk = 1; chunk <= 41; chunk += 20) {
                char *got = stream_text(file, cut, cases[i].t, chunk, &err);
                if (got)
                    fail_msg("case %zu cut at %zu: accepted as \"%s\"", i, cut, got);
                char entry[64];
                snprintf(entry, sizeof entry, "entry 1 ");
                char ends[128];
                snprintf(ends, sizeof ends,
                         "the file ends at byte offset %zu, before the entry does "
                         "(truncated?)",
                         cut);
                if (strcmp(err.type, "InvalidResultFile") != 0 || !strstr(err.message, entry) ||
                    !strstr(err.message, ends))
                    fail_msg("case %zu cut at %zu (chunk %zu): %s: %s", i, cut, chunk, err.type,
                             err.message);
            }
        }
    }
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
        cmocka_unit_test(test_outputs_that_grow_when_escaped),
        cmocka_unit_test(test_members_read_as_python_reads_them),
        cmocka_unit_test(test_cut_anywhere_is_the_files_fault),
    };
    return cmocka_run_group_tests_name("result_reader", tests, NULL, NULL);
}
