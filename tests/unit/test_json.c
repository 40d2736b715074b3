/* The streaming JSON scanner: RFC 8259 validity, verbatim copying, string
 * decoding, and the same answer at every chunk boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunked.h"
#include "gen.h"
#include "mem.h"
#include "memsink.h"
#include "json.h"

/* Runs json_copy_document, returning the minified text or "ERR <type>". */
static char *copy_doc(const char *text)
{
    struct memsink c;
    memsink_init(&c);
    struct error err = {0};
    char *result;
    if (json_copy_document(text, strlen(text), &c.sink, "T", &err) == 0) {
        result = mem_check(strdup(memsink_text(&c)));
    } else {
        result = mem_check(malloc(strlen(err.message) + 8));
        sprintf(result, "ERR %s", err.message);
    }
    memsink_free(&c);
    return result;
}

/* The same through a chunked source, followed by the end-of-input check. */
static char *copy_chunked(const char *text, size_t chunk)
{
    struct chunked src;
    chunked_init(&src, text, strlen(text), chunk);
    struct memsink c;
    memsink_init(&c);
    struct error err = {0};
    char *result;
    if (json_copy_value(&src.src, &c.sink, "T", &err) == 0 && json_peek(&src.src, &err) == -1) {
        result = mem_check(strdup(memsink_text(&c)));
    } else {
        result = mem_check(strdup("ERR"));
    }
    memsink_free(&c);
    chunked_free(&src);
    return result;
}

static const char *const valid[][2] = {
    {"0", "0"},
    {" -0 ", "-0"},
    {"123456789012345678901234567890", "123456789012345678901234567890"},
    {"0.1", "0.1"},
    {"1e400", "1e400"},
    {"-1.5E+07", "-1.5E+07"},
    {"true", "true"},
    {"null", "null"},
    {"\"\"", "\"\""},
    {"\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"",
     "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\""},
    {"\"\\ud800\"", "\"\\ud800\""}, /* valid grammar; kept as written */
    /* Non-ASCII characters become escapes, as Python's json.dumps writes them. */
    {"\"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80\"", "\"caf\\u00e9 \\u2713 \\ud83d\\ude00\""},
    {"{\"\xc3\x9c\xf4\x8f\xbf\xbf\":[\"\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\"]}",
     "{\"\\u00dc\\udbff\\udfff\":[\"\\u07ff\\u0800\\uffff\\ud800\\udc00\"]}"},
    {"\"\\u00DC\xc3\x9c\"", "\"\\u00DC\\u00dc\""},
    {"[ 1 , [ ] , { } , { \"a\" : [ null ] } ]", "[1,[],{},{\"a\":[null]}]"},
    {"{\"z\":1,\"a\":2,\"z\":3}", "{\"z\":1,\"a\":2,\"z\":3}"},
    {"\t\r\n{\"k\"\n:\n\"v\"}\n", "{\"k\":\"v\"}"},
    /* DEL, as json.dumps(ensure_ascii=True) writes it. */
    {"\"a\x7f\x7f"
     "b\x7f\"",
     "\"a\\u007f\\u007fb\\u007f\""},
    {"{\"\x7f\":[\"\x7f\xc3\xa9\"]}", "{\"\\u007f\":[\"\\u007f\\u00e9\"]}"},
};

static const char *const invalid[] = {
    "",
    " ",
    "01",
    "-",
    "1.",
    ".5",
    "1e",
    "1e+",
    "+1",
    "0x10",
    "NaN",
    "Infinity",
    "-Infinity",
    "tru",
    "nul",
    "True",
    "[",
    "[1,]",
    "[,1]",
    "{\"a\"}",
    "{\"a\":}",
    "{\"a\":1,}",
    "{1:2}",
    "{'a':1}",
    "\"abc",
    "\"\\x\"",
    "\"\\u12\"",
    "\"\\u12g4\"",
    "\"a\x01\"",
    "\"\xff\"",
    "\"\xc0\xaf\"",
    "\"\xe0\x80\xaf\"",
    "\"\xed\xa0\x80\"",
    "\"\xf4\x90\x80\x80\"",
    "\"\xc3\"",
    "[1] [2]",
    "{} x",
    "1 2",
    "[1}",
    "{\"a\":1]",
    "/* c */ 1",
    "[1,2",
    "\"\\\"",
    "\x00",
};

static void test_valid_documents_are_copied_minified(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        char *got = copy_doc(valid[i][0]);
        if (strcmp(got, valid[i][1]) != 0)
            fail_msg("%s: got %s, expected %s", valid[i][0], got, valid[i][1]);
        free(got);
    }
}

static void test_invalid_documents_are_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        char *got = copy_doc(invalid[i]);
        if (strncmp(got, "ERR ", 4) != 0)
            fail_msg("accepted invalid document #%zu \"%s\" as %s", i, invalid[i], got);
        free(got);
    }
}

static void test_error_names_the_byte_offset(void **state)
{
    (void)state;
    char *got = copy_doc("{\"a\": [1, 2, x]}");
    assert_string_equal(got, "ERR invalid JSON at byte offset 13: found 'x', expected a value");
    free(got);
}

static void test_every_chunk_size_gives_the_same_result(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++)
        for (size_t chunk = 1; chunk <= 9; chunk++) {
            char *got = copy_chunked(valid[i][0], chunk);
            if (strcmp(got, valid[i][1]) != 0)
                fail_msg("chunk %zu of %s: got %s", chunk, valid[i][0], got);
            free(got);
        }
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++)
        for (size_t chunk = 1; chunk <= 5; chunk++) {
            char *got = copy_chunked(invalid[i], chunk);
            if (strcmp(got, "ERR") != 0)
                fail_msg("chunk %zu accepted invalid #%zu", chunk, i);
            free(got);
        }
}

/* An Output (a copy) is nested at most JSON_OUTPUT_MAX_DEPTH deep, what
 * json.loads reads from a Lambda handler; what is only read, JSON_MAX_DEPTH. */
static void test_nesting_limit(void **state)
{
    (void)state;
    for (int objects = 0; objects < 2; objects++) {
        char *ok = gen_nested_json(JSON_OUTPUT_MAX_DEPTH, objects);
        char *got = copy_doc(ok);
        assert_string_equal(got, ok);
        free(got);
        free(ok);
        char *deep = gen_nested_json(JSON_OUTPUT_MAX_DEPTH + 1, objects);
        got = copy_doc(deep);
        assert_non_null(strstr(got, "nested deeper than 990 levels"));
        free(got);
        struct error err = {0};
        assert_int_equal(json_check_document(deep, strlen(deep), "T", &err), 0);
        free(deep);
        char *read_ok = gen_nested_json(JSON_MAX_DEPTH, objects),
             *too_deep = gen_nested_json(JSON_MAX_DEPTH + 1, objects);
        assert_int_equal(json_check_document(read_ok, strlen(read_ok), "T", &err), 0);
        assert_int_not_equal(json_check_document(too_deep, strlen(too_deep), "T", &err), 0);
        assert_non_null(strstr(err.message, "nested deeper than 1024 levels"));
        free(read_ok);
        free(too_deep);
    }
}

/* What Python's json.loads reads beyond RFC 8259 is read (json_check_document,
 * json_skip_value) but never copied into an Output; an Output's integers are
 * held to Python's int conversion limit, its floats are not. */
static void test_python_dialect(void **state)
{
    (void)state;
    static const char *const python_only[] = {
        "NaN",         "Infinity",
        "-Infinity",   "[NaN,-Infinity,Infinity]",
        "{\"a\":NaN}", " {\"RedriveCount\" : NaN , \"x\": [ -Infinity ] } ",
    };
    for (size_t i = 0; i < sizeof python_only / sizeof *python_only; i++) {
        struct error err = {0};
        if (json_check_document(python_only[i], strlen(python_only[i]), "T", &err) != 0)
            fail_msg("refused %s: %s", python_only[i], err.message);
        char *got = copy_doc(python_only[i]);
        if (strncmp(got, "ERR ", 4) != 0)
            fail_msg("copied %s as %s", python_only[i], got);
        free(got);
        for (size_t chunk = 1; chunk <= 5; chunk++) {
            struct chunked src;
            chunked_init(&src, python_only[i], strlen(python_only[i]), chunk);
            assert_int_equal(json_skip_value(&src.src, "T", &err), 0);
            assert_int_equal(json_peek(&src.src, &err), JSON_EOF);
            chunked_free(&src);
        }
    }
    static const char *const refused_by_both[] = {
        "nan", "-NaN", "+Infinity", "Infinit", "-Inf", "[Infinity", "NaNa", "Infinity1", "-",
    };
    for (size_t i = 0; i < sizeof refused_by_both / sizeof *refused_by_both; i++) {
        struct error err = {0};
        if (json_check_document(refused_by_both[i], strlen(refused_by_both[i]), "T", &err) == 0)
            fail_msg("accepted %s", refused_by_both[i]);
    }
    /* Integers: 4300 digits copied, 4301 refused in a copy, read otherwise. */
    char number[JSON_INT_MAX_DIGITS + 16];
    for (int sign = 0; sign < 2; sign++) {
        size_t k = 0;
        if (sign)
            number[k++] = '-';
        memset(number + k, '8', JSON_INT_MAX_DIGITS);
        number[k + JSON_INT_MAX_DIGITS] = '\0';
        char *got = copy_doc(number);
        assert_string_equal(got, number);
        free(got);
        strcpy(number + k + JSON_INT_MAX_DIGITS, "8");
        got = copy_doc(number);
        assert_non_null(strstr(got, "integer at byte offset 0 has 4301 digits"));
        free(got);
        struct error err = {0};
        assert_int_equal(json_check_document(number, strlen(number), "T", &err), 0);
        strcpy(number + k + JSON_INT_MAX_DIGITS, ".0");
        got = copy_doc(number);
        assert_string_equal(got, number);
        free(got);
        strcpy(number + k + JSON_INT_MAX_DIGITS, "E+2");
        got = copy_doc(number);
        assert_string_equal(got, number);
        free(got);
    }
}

/* A scan that fails because the input ends marks the source cut short
 * (src->ended), at every chunk size; one that fails on a byte does not. */
static void test_cut_input_is_flagged(void **state)
{
    (void)state;
    static const char *const cut[] = {
        "\"abc",
        "[1,2",
        "tru",
        "\"\\u12",
        "\"\\",
        "\"a\xc3",
        "\"\xf0\x9f\x98",
        "-",
        "1e",
        "{\"a\":",
        "{\"a\"",
        "[",
        "{\"a\":[{\"b\":fals",
        "",
    };
    static const char *const not_cut[] = {"[1}",   "tx",    "\"\\x\"", "\"\xc3(\"",
                                          "[1 2]", "{1:2}", "NaN"};
    for (size_t chunk = 1; chunk <= 6; chunk++) {
        for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
            struct chunked src;
            chunked_init(&src, cut[i], strlen(cut[i]), chunk);
            struct error err = {0};
            assert_int_not_equal(json_copy_value(&src.src, NULL, "T", &err), 0);
            if (!src.src.ended)
                fail_msg("chunk %zu: %s: not flagged as cut (%s)", chunk, cut[i], err.message);
            chunked_free(&src);
        }
        for (size_t i = 0; i < sizeof not_cut / sizeof *not_cut; i++) {
            struct chunked src;
            chunked_init(&src, not_cut[i], strlen(not_cut[i]), chunk);
            struct error err = {0};
            assert_int_not_equal(json_copy_value(&src.src, NULL, "T", &err), 0);
            if (src.src.ended)
                fail_msg("chunk %zu: %s: flagged as cut (%s)", chunk, not_cut[i], err.message);
            chunked_free(&src);
        }
    }
}

/* Of several members of one name the last counts, as in Python's json.loads;
 * names are compared decoded; other members are skipped as Python reads them. */
static void test_last_member_of_a_name_counts(void **state)
{
    (void)state;
    const char *doc = "{\"a\": 1, \"b\": [NaN], \"skip\": {\"a\": 9}, \"\\u0061\": \"x\", "
                      "\"long name beyond the buffer\": 5, \"b\": -Infinity}";
    static const char *const names[] = {"a", "b", "c"};
    struct json_src src, found[3];
    json_src_memory(&src, doc, strlen(doc));
    struct buf name;
    buf_init(&name, 8);
    struct error err = {0};
    assert_int_equal(json_object_find(&src, names, 3, found, &name, "T", &err), 0);
    assert_int_equal(json_peek(&src, &err), JSON_EOF);
    assert_non_null(found[0].pos);
    assert_int_equal(strncmp((const char *)found[0].pos, "\"x\"", 3), 0);
    assert_non_null(found[1].pos);
    assert_int_equal(strncmp((const char *)found[1].pos, "-Infinity}", 10), 0);
    assert_null(found[2].pos);

    /* json_object_next hands out every member asked for, in order. */
    static const char *const order[] = {"a", "b", "a", "b"};
    for (size_t chunk = 1; chunk <= 7; chunk++) {
        struct chunked c;
        chunked_init(&c, doc, strlen(doc), chunk);
        struct json_object o;
        assert_int_equal(json_object_open(&o, &c.src, &name, "T", &err), 0);
        for (size_t i = 0; i < 4; i++) {
            int m = json_object_next(&o, names, 3);
            assert_int_equal(m, order[i][0] - 'a');
            assert_int_equal(json_skip_value(&c.src, "T", &err), 0);
        }
        assert_int_equal(json_object_next(&o, names, 3), 3);
        chunked_free(&c);
    }
    static const char *const bad[] = {"{\"a\":1,}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{,}", "[1]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_src_memory(&src, bad[i], strlen(bad[i]));
        if (json_object_find(&src, names, 3, found, &name, "T", &err) == 0)
            fail_msg("accepted %s", bad[i]);
    }
    buf_free(&name);
}

/* Decodes a string token; returns the bytes, or NULL on error. */
static char *decode(const char *token, size_t max, size_t chunk, bool *overflowed, size_t *len)
{
    struct chunked src;
    chunked_init(&src, token, strlen(token), chunk);
    struct buf b;
    buf_init(&b, max);
    struct error err = {0};
    char *result = NULL;
    if (json_decode_string(&src.src, &b, overflowed, "T", &err) == 0) {
        result = mem_check(malloc(b.len + 1));
        if (b.len)
            memcpy(result, b.data, b.len);
        result[b.len] = '\0';
        *len = b.len;
    }
    buf_free(&b);
    chunked_free(&src);
    return result;
}

static void test_decode_string_escapes(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"\"plain\"", "plain"},
        {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t"},
        {"\"\\u00e9\\u2713\"", "\xc3\xa9\xe2\x9c\x93"},
        {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80"},
        {"\"\\uD834\\uDD1E!\"", "\xf0\x9d\x84\x9e!"},
        {"\"raw \xf0\x9f\x98\x80\"", "raw \xf0\x9f\x98\x80"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (size_t chunk = 1; chunk <= 13; chunk += 3) {
            size_t len;
            char *got = decode(cases[i][0], 100, chunk, NULL, &len);
            assert_non_null(got);
            assert_string_equal(got, cases[i][1]);
            free(got);
        }
    size_t len = 0;
    char *nul = decode("\"a\\u0000b\"", 100, 4, NULL, &len);
    assert_non_null(nul);
    assert_int_equal(len, 3);
    assert_memory_equal(nul, "a\0b", 3);
    free(nul);
}

/* Lone surrogates are kept in their 3-byte form, which only json_copy_decoded
 * accepts, and come back out as their escapes. */
static void test_lone_surrogates_pass_through(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"\"\\ud800\"", "\xed\xa0\x80", "\"\\ud800\""},
        {"\"\\uDC00\"", "\xed\xb0\x80", "\"\\udc00\""},
        {"\"\\ud800\\u0041\"",
         "\xed\xa0\x80"
         "A",
         "\"\\ud800A\""},
        {"\"\\udbffx\\ud800\"", "\xed\xaf\xbfx\xed\xa0\x80", "\"\\udbffx\\ud800\""},
        {"\"\\udc00\\ud800\"", "\xed\xb0\x80\xed\xa0\x80", "\"\\udc00\\ud800\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (size_t chunk = 1; chunk <= 13; chunk += 3) {
            size_t len;
            char *got = decode(cases[i][0], 100, chunk, NULL, &len);
            assert_non_null(got);
            assert_string_equal(got, cases[i][1]);
            /* As an Output: the decoded text, quoted, copied as JSON. */
            char doc[64];
            snprintf(doc, sizeof doc, "\"%s\"", got);
            struct memsink c;
            memsink_init(&c);
            struct error err = {0};
            assert_int_equal(json_copy_decoded(doc, strlen(doc), &c.sink, "T", &err), 0);
            assert_string_equal(memsink_text(&c), cases[i][2]);
            /* Raw in a file it is invalid UTF-8. */
            assert_int_not_equal(json_copy_document(doc, strlen(doc), NULL, "T", &err), 0);
            memsink_free(&c);
            free(got);
        }
    static const char *const bad[] = {"\"\\u12\"", "\"a", "\"\\ud800\\u12\""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t len;
        char *got = decode(bad[i], 100, 2, NULL, &len);
        if (got)
            fail_msg("decoded %s", bad[i]);
    }
    /* Decoded text is still checked: an overlong or stray byte is refused. */
    struct error err = {0};
    assert_int_not_equal(json_copy_decoded("\"\xc0\xaf\"", 4, NULL, "T", &err), 0);
    assert_int_not_equal(json_copy_decoded("\"\xed\xa0\"", 4, NULL, "T", &err), 0);
}

static void test_decode_string_limit(void **state)
{
    (void)state;
    size_t len;
    bool overflowed = false;
    char *got = decode("\"0123456789\"", 4, 3, NULL, &len);
    assert_null(got);
    got = decode("\"0123456789\"", 4, 3, &overflowed, &len);
    assert_non_null(got);
    assert_true(overflowed);
    assert_string_equal(got, "0123");
    free(got);
    got = decode("\"0123\"", 4, 3, &overflowed, &len);
    assert_false(overflowed);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_documents_are_copied_minified),
        cmocka_unit_test(test_invalid_documents_are_refused),
        cmocka_unit_test(test_error_names_the_byte_offset),
        cmocka_unit_test(test_every_chunk_size_gives_the_same_result),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_python_dialect),
        cmocka_unit_test(test_cut_input_is_flagged),
        cmocka_unit_test(test_last_member_of_a_name_counts),
        cmocka_unit_test(test_decode_string_escapes),
        cmocka_unit_test(test_lone_surrogates_pass_through),
        cmocka_unit_test(test_decode_string_limit),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
