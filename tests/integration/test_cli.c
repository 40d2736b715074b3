/* The command line end to end on a directory store: every behaviour of the
 * step that a user can see (reply, results.json, errors, nothing written on
 * failure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "proc.h"
#include "files.h"
#include "gen.h"
#include "json.h"

#define BUCKET "tdr-backend-checks-intg"
#define MANIFEST_KEY "cons-1/run-1/results.json/map-1/manifest.json"
#define EVENT                                                                                      \
    "{\"results\": {\"MapRunArn\": \"arn:aws:states:eu-west-2:1:mapRun:sm/Map:x\", "               \
    "\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET "\", \"Key\": \"" MANIFEST_KEY "\"}}}"

struct fixture {
    char *root;
};

static int setup(void **state)
{
    struct fixture *f = mem_check(calloc(1, sizeof *f));
    f->root = files_tmpdir();
    char keep[4200];
    snprintf(keep, sizeof keep, "%s/" BUCKET "/.keep", f->root); /* makes the bucket */
    files_write(keep, "", 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    files_rmtree(f->root);
    free(f->root);
    free(f);
    return 0;
}

/* Writes object BUCKET/key in the fixture's store. */
static void put(struct fixture *f, const char *key, const char *text)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/" BUCKET "/%s", f->root, key);
    files_write(path, text, strlen(text));
}

/* A manifest listing the given SUCCEEDED keys (NULL-terminated). */
static void put_manifest(struct fixture *f, const char *const keys[])
{
    char text[8192] = "{\"DestinationBucket\": \"" BUCKET "\", \"ResultFiles\": {\"SUCCEEDED\": [";
    for (int i = 0; keys[i]; i++) {
        strcat(text, i ? ", {\"Key\": \"" : "{\"Key\": \"");
        strcat(text, keys[i]);
        strcat(text, "\"}");
    }
    strcat(text, "]}}");
    put(f, MANIFEST_KEY, text);
}

static void run_cli(struct fixture *f, const char *const extra[], const char *event,
                    struct proc_result *res)
{
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)proc_bin();
    argv[n++] = "--store";
    argv[n++] = f->root;
    for (int i = 0; extra && extra[i]; i++)
        argv[n++] = (char *)extra[i];
    argv[n++] = "-";
    argv[n] = NULL;
    proc_run(argv, event, NULL, 120, res);
}

/* Runs the event successfully and returns results.json parsed (caller
 * decrefs); the run's output goes to *kept (caller frees) if not NULL. */
static json_t *run_ok_event(struct fixture *f, const char *const extra[], const char *event,
                            struct proc_result *kept)
{
    struct proc_result res;
    run_cli(f, extra, event, &res);
    if (res.status != 0)
        fprintf(stderr, "stderr: %s\n", res.err);
    assert_int_equal(res.status, 0);
    json_error_t jerr;
    json_t *reply = json_loads(res.out, 0, &jerr);
    assert_non_null(reply);
    const char *key = json_string_value(json_object_get(reply, "key"));
    assert_string_equal(json_string_value(json_object_get(reply, "bucket")), BUCKET);
    assert_non_null(key);
    /* {consignment}/{uuid4}/results.json, with the exact reply format */
    assert_int_equal(strncmp(key, "cons-1/", 7), 0);
    assert_int_equal(strlen(key), 7 + 36 + 13);
    assert_string_equal(key + 7 + 36, "/results.json");
    assert_int_equal(key[7 + 14], '4');
    char expected_reply[2048];
    snprintf(expected_reply, sizeof expected_reply, "{\"key\": \"%s\", \"bucket\": \"%s\"}\n", key,
             BUCKET);
    assert_string_equal(res.out, expected_reply);
    /* stderr is a pipe here: no progress line, so no carriage return */
    assert_null(strchr(res.err, '\r'));

    char path[4096];
    snprintf(path, sizeof path, "%s/" BUCKET "/%s", f->root, key);
    json_t *doc = json_load_file(path, 0, &jerr);
    assert_non_null(doc);
    assert_true(json_is_array(json_object_get(doc, "results")));
    json_t *tail = json_loads("{\"statuses\": {\"statuses\": []}, "
                              "\"redactedResults\": {\"redactedFiles\": [], \"errors\": []}}",
                              0, NULL);
    assert_true(json_equal(json_object_get(doc, "statuses"), json_object_get(tail, "statuses")));
    assert_true(json_equal(json_object_get(doc, "redactedResults"),
                           json_object_get(tail, "redactedResults")));
    assert_int_equal(json_object_size(doc), 3);
    json_decref(tail);
    json_decref(reply);
    if (kept)
        *kept = res;
    else
        proc_result_free(&res);
    return doc;
}

static json_t *run_ok(struct fixture *f, const char *const extra[])
{
    return run_ok_event(f, extra, EVENT, NULL);
}

/* Reads results.json as text (there is exactly one results.json written) from
 * a run on event. */
static char *results_text_for(struct fixture *f, const char *const extra[], const char *event)
{
    struct proc_result res;
    run_cli(f, extra, event, &res);
    assert_int_equal(res.status, 0);
    json_t *reply = json_loads(res.out, 0, NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/" BUCKET "/%s", f->root,
             json_string_value(json_object_get(reply, "key")));
    json_decref(reply);
    proc_result_free(&res);
    char *text = files_read(path, NULL);
    assert_non_null(text);
    return text;
}

static char *results_text(struct fixture *f, const char *const extra[])
{
    return results_text_for(f, extra, EVENT);
}

static void assert_results(json_t *doc, const char *expected_json)
{
    json_t *expected = json_loads(expected_json, 0, NULL);
    assert_non_null(expected);
    if (!json_equal(json_object_get(doc, "results"), expected)) {
        char *got = mem_check(json_dumps(json_object_get(doc, "results"), JSON_COMPACT));
        fail_msg("results %s, expected %s", got, expected_json);
    }
    json_decref(expected);
}

/* Runs, expects failure with errorType, and checks nothing was written. */
static void expect_error(struct fixture *f, const char *const extra[], const char *event,
                         const char *type, const char *message_part)
{
    int before = files_count(f->root);
    struct proc_result res;
    run_cli(f, extra, event, &res);
    assert_int_equal(res.status, 1);
    assert_string_equal(res.out, "");
    char last[4096];
    proc_last_line(res.err, last, sizeof last);
    json_error_t jerr;
    json_t *doc = json_loads(last, 0, &jerr);
    if (!doc)
        fail_msg("last stderr line is not JSON: %s", last);
    assert_int_equal(json_object_size(doc), 2);
    const char *got_type = json_string_value(json_object_get(doc, "errorType"));
    const char *message = json_string_value(json_object_get(doc, "errorMessage"));
    assert_non_null(got_type);
    assert_non_null(message);
    if (strcmp(got_type, type) != 0 || (message_part && !strstr(message, message_part)))
        fail_msg("got %s: %s; expected %s with \"%s\"", got_type, message, type,
                 message_part ? message_part : "");
    json_decref(doc);
    proc_result_free(&res);
    assert_int_equal(files_count(f->root), before);
}

/* A failure at an object of the store: exit 1, nothing written, the error
 * document's message exactly `message` (S3's wording has no location), and
 * the line just before it an ERROR log line whose where is `where`. */
static void expect_located(struct fixture *f, const char *event, const char *type,
                           const char *message, const char *where)
{
    int before = files_count(f->root);
    struct proc_result res;
    run_cli(f, NULL, event, &res);
    assert_int_equal(res.status, 1);
    assert_string_equal(res.out, "");
    char last[4096];
    proc_last_line(res.err, last, sizeof last);
    json_t *doc = json_loads(last, 0, NULL);
    if (!doc)
        fail_msg("last stderr line is not JSON: %s", last);
    assert_string_equal(json_string_value(json_object_get(doc, "errorType")), type);
    assert_string_equal(json_string_value(json_object_get(doc, "errorMessage")), message);
    json_decref(doc);
    /* The line before the last one (which ends in a newline). */
    assert_true(res.err_len > strlen(last) + 1);
    char *end = res.err + res.err_len - strlen(last) - 2, *start = end;
    while (start > res.err && start[-1] != '\n')
        start--;
    char previous[4096], want[4096];
    snprintf(previous, sizeof previous, "%.*s", (int)(end - start), start);
    snprintf(want, sizeof want, "\tERROR\tfailed errorType=%s where=%s", type, where);
    if (!strstr(previous, want))
        fail_msg("the line before the error document is \"%s\", not one with \"%s\"", previous,
                 want);
    proc_result_free(&res);
    assert_int_equal(files_count(f->root), before);
}

/* The seed README's example byte for byte: its manifest says "Size": 1 for
 * a 100-byte file (a placeholder the function it replaces never read) and
 * names a DestinationBucket other than the event's. */
#define SEED_BUCKET "test-backend-checks-bucket"
#define SEED_RESULT                                                                                \
    "[\n        {\"Output\": \"{\\\"test1\\\": \\\"value1\\\"}\"},\n"                              \
    "        {\"Output\": \"{\\\"test2\\\": \\\"value2\\\"}\"}\n    ]"
#define SEED_EVENT                                                                                 \
    "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET                               \
    "\", \"Key\": \"" MANIFEST_KEY "\"}}}"

static void put_seed(struct fixture *f, const char *size_member)
{
    char manifest[1024], path[4200];
    snprintf(
        manifest, sizeof manifest,
        "{\n            \"DestinationBucket\": \"" SEED_BUCKET "\",\n"
        "            \"ResultFiles\": {\n                \"SUCCEEDED\": [\n"
        "                    {\n                        \"Key\": \"test_key/succeeded.json\"%s\n"
        "                    }\n                ]\n            }\n        }",
        size_member);
    put(f, MANIFEST_KEY, manifest);
    snprintf(path, sizeof path, "%s/" SEED_BUCKET "/test_key/succeeded.json", f->root);
    files_write(path, SEED_RESULT, strlen(SEED_RESULT));
}

static void test_seed_readme_example(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(strlen(SEED_RESULT), 100);
    put_seed(f, ",\n                        \"Size\": 1");
    struct proc_result res;
    json_t *doc = run_ok_event(f, NULL, SEED_EVENT, &res);
    assert_results(doc, "[{\"test1\": \"value1\"}, {\"test2\": \"value2\"}]");
    json_decref(doc);
    /* The difference is a warning naming both numbers and the key. */
    const char *warn = strstr(res.err, "result file size differs from the manifest's Size");
    assert_non_null(warn);
    const char *line_end = strchr(warn, '\n');
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)(line_end ? line_end - warn : 1000), warn);
    assert_non_null(strstr(line, "test_key/succeeded.json"));
    assert_non_null(strstr(line, "100"));
    assert_non_null(strstr(line, "manifestSize=1"));
    proc_result_free(&res);

    /* Without Size, the same results and no warning. */
    put_seed(f, "");
    doc = run_ok_event(f, NULL, SEED_EVENT, &res);
    assert_results(doc, "[{\"test1\": \"value1\"}, {\"test2\": \"value2\"}]");
    json_decref(doc);
    assert_null(strstr(res.err, "manifest's Size"));
    proc_result_free(&res);
}

static void test_several_files_in_manifest_order(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/SUCCEEDED_2.json", "r/SUCCEEDED_0.json",
                                          "r/SUCCEEDED_1.json", NULL});
    put(f, "r/SUCCEEDED_0.json", "[{\"Output\": \"0\"}, {\"Output\": \"1\"}]");
    put(f, "r/SUCCEEDED_1.json", "[]");
    put(f, "r/SUCCEEDED_2.json", "[{\"Name\": \"n\", \"Output\": \"\\\"first\\\"\"}]");
    json_t *doc = run_ok(f, NULL);
    assert_results(doc, "[\"first\", 0, 1]");
    json_decref(doc);
}

static void test_source_bucket_defaults_to_event_bucket(void **state)
{
    struct fixture *f = *state;
    put(f, MANIFEST_KEY,
        "{\"ResultFiles\": {\"SUCCEEDED\": [{\"Key\": \"a.json\", \"Size\": 20}]}}");
    put(f, "a.json", "[{\"Output\": \"true\"}]");
    json_t *doc = run_ok(f, NULL);
    assert_results(doc, "[true]");
    json_decref(doc);
}

static void test_json_lines(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/a.jsonl", NULL});
    put(f, "r/a.jsonl",
        "{\"Output\": \"{\\\"a\\\":1}\"}\n{\"Output\": \"[2]\"}\n\n"
        "{\"Name\": \"x\", \"Output\": \"null\"}\n");
    json_t *doc = run_ok(f, NULL);
    assert_results(doc, "[{\"a\": 1}, [2], null]");
    json_decref(doc);
}

static void test_compact_and_flatten(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/c.json", "r/d.jsonl", NULL});
    put(f, "r/c.json", "[{\"a\": 1}, [1, [2]], [], \"s\"]");
    put(f, "r/d.jsonl", "{\"b\": 2}\n[3, 4]\n");
    json_t *doc = run_ok(f, (const char *const[]){"--transformation", "COMPACT", NULL});
    assert_results(doc, "[{\"a\": 1}, [1, [2]], [], \"s\", {\"b\": 2}, [3, 4]]");
    json_decref(doc);
    doc = run_ok(f, (const char *const[]){"--transformation", "FLATTEN", NULL});
    assert_results(doc, "[{\"a\": 1}, 1, [2], \"s\", {\"b\": 2}, 3, 4]");
    json_decref(doc);
}

static void test_unicode_and_escapes(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/u.json", NULL});
    /* Outer string escapes: \u00e9, a surrogate pair, \/, escaped control
     * characters; inner document escapes kept as written. */
    put(f, "r/u.json",
        "[{\"Output\": \"{\\\"p\\\": \\\"caf\\u00e9 \\ud83d\\ude00 a\\/b \\\\t\\\\u0001 "
        "\xe2\x9c\x93\\\", \\\"q\\\": \\\"\\\\ud83d\\\\ude00\\\\\\\"\\\"}\"}]");
    char *text = results_text(f, NULL);
    /* results.json is ASCII: decoded and raw characters are written as
     * escapes (lowercase, as json.dumps writes them); inner escapes stay. */
    assert_non_null(strstr(text, "{\"p\":\"caf\\u00e9 \\ud83d\\ude00 a/b \\t\\u0001 "
                                 "\\u2713\",\"q\":\"\\ud83d\\ude00\\\"\"}"));
    for (const char *p = text; *p; p++)
        assert_true((unsigned char)*p < 0x80);
    json_t *doc = json_loads(text, 0, NULL);
    assert_results(doc, "[{\"p\": \"caf\\u00e9 \\ud83d\\ude00 a/b \\t\\u0001 \\u2713\", "
                        "\"q\": \"\\ud83d\\ude00\\\"\"}]");
    json_decref(doc);
    free(text);
}

/* A lone surrogate escape, which Python's json accepts, passes through as its
 * escape wherever it is: in the Output string, in the Output's text, in Name. */
static void test_lone_surrogates_pass_through(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/s.json", NULL});
    put(f, "r/s.json",
        "[{\"Name\": \"e\\udc00\", \"Output\": \"[\\\"\\ud800\\\", \\\"\\\\uDBFF\\\"]\"}]");
    char *text = results_text(f, NULL);
    assert_non_null(strstr(text, "{\"results\":[[\"\\ud800\",\"\\uDBFF\"]],"));
    free(text);
}

static void test_numbers_pass_through_as_written(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/n.json", NULL});
    put(f, "r/n.json",
        "[{\"Output\": \"[123456789012345678901234567890, 0.1, 1e400, -0.0, "
        "1.5E-7, 0, 1700000000000]\"}]");
    char *text = results_text(f, NULL);
    assert_non_null(strstr(text, "{\"results\":[[123456789012345678901234567890,0.1,1e400,-0.0,"
                                 "1.5E-7,0,1700000000000]],"));
    free(text);
}

static void test_key_order_preserved(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/k.json", NULL});
    put(f, "r/k.json",
        "[{\"Output\": \"{\\\"z\\\": 1, \\\"a\\\": {\\\"y\\\": 2, \\\"b\\\": 3}}\"}]");
    char *text = results_text(f, NULL);
    assert_non_null(strstr(text, "[{\"z\":1,\"a\":{\"y\":2,\"b\":3}}]"));
    free(text);
}

static void test_empty_succeeded_list(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){NULL});
    char *text = results_text(f, NULL);
    assert_string_equal(text, "{\"results\":[],\"statuses\":{\"statuses\":[]},"
                              "\"redactedResults\":{\"redactedFiles\":[],\"errors\":[]}}");
    free(text);
}

static void test_event_from_file_argument(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/a.json", NULL});
    put(f, "r/a.json", "[{\"Output\": \"42\"}]");
    char event_path[4200];
    snprintf(event_path, sizeof event_path, "%s/event.json", f->root);
    files_write(event_path, EVENT, strlen(EVENT));
    char *argv[] = {(char *)proc_bin(), "--store", f->root, event_path, NULL};
    struct proc_result res;
    proc_run(argv, NULL, NULL, 30, &res);
    assert_int_equal(res.status, 0);
    assert_non_null(strstr(res.out, "\"bucket\": \"" BUCKET "\""));
    proc_result_free(&res);
}

static void test_error_invalid_event(void **state)
{
    struct fixture *f = *state;
    expect_error(f, NULL, "not json", "InvalidEvent", "not valid JSON");
    expect_error(f, NULL, "{\"results\": {}}", "InvalidEvent", "ResultWriterDetails");
    expect_error(f, NULL,
                 "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"\", \"Key\": \"k\"}}}",
                 "InvalidEvent", "Bucket");
    expect_error(f, NULL,
                 "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"b\", \"Key\": 5}}}",
                 "InvalidEvent", "Key");
}

static void test_error_invalid_manifest(void **state)
{
    struct fixture *f = *state;
    put(f, MANIFEST_KEY, "{\"ResultFiles\": {\"SUCCEEDED\": [{\"Size\": 3}]}}");
    expect_error(f, NULL, EVENT, "InvalidManifest", "SUCCEEDED[0].Key");
    put(f, MANIFEST_KEY, "[1,2");
    expect_error(f, NULL, EVENT, "InvalidManifest", MANIFEST_KEY);
}

/* A tolerated Map Run: its SUCCEEDED files are read, and what was left out
 * is said loudly; --require-complete refuses it. */
static void test_failed_and_pending_files(void **state)
{
    struct fixture *f = *state;
    put(f, MANIFEST_KEY,
        "{\"ResultFiles\": {\"FAILED\": [{\"Key\": \"r/FAILED_0.json\"}, {\"Key\": "
        "\"r/FAILED_1.json\"}], "
        "\"PENDING\": [{\"Key\": \"r/PENDING_0.json\"}], \"SUCCEEDED\": [{\"Key\": "
        "\"r/a.json\"}]}}");
    put(f, "r/a.json", "[{\"Output\": \"1\"}]");
    struct proc_result res;
    json_t *doc = run_ok_event(f, NULL, EVENT, &res);
    assert_results(doc, "[1]");
    json_decref(doc);
    const char *warn = strstr(res.err, "the Map run left children out");
    assert_non_null(warn);
    assert_non_null(strstr(warn, "failedFiles=2"));
    assert_non_null(strstr(warn, "r/FAILED_0.json, r/FAILED_1.json"));
    assert_non_null(strstr(warn, "pendingFiles=1"));
    assert_non_null(strstr(warn, "r/PENDING_0.json"));
    proc_result_free(&res);
    expect_error(f, (const char *const[]){"--require-complete", NULL}, EVENT, "IncompleteMapRun",
                 "2 FAILED and 1 PENDING result files (FAILED: r/FAILED_0.json, r/FAILED_1.json; "
                 "PENDING: r/PENDING_0.json)");
}

static void test_error_invalid_result_file(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/bad.json", NULL});
    put(f, "r/bad.json", "[{\"Output\": \"1\"}, {\"Name\": \"exec-7\", \"Output\": \"2\"} {");
    expect_error(f, NULL, EVENT, "InvalidResultFile", "r/bad.json: after entry 1 at byte offset");
    put(f, "r/bad.json", "[{\"Output\": \"1\"}, {\"Name\": \"exec-7\"}]");
    expect_error(f, NULL, EVENT, "InvalidResultFile", "entry 1 (Name exec-7)");
    put(f, "r/bad.json", "[{\"Output\": \"1\"}");
    expect_error(f, NULL, EVENT, "InvalidResultFile", "truncated");
    put(f, "r/bad.json", "");
    expect_error(f, NULL, EVENT, "InvalidResultFile", "empty");
}

static void test_error_invalid_output(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/o.json", NULL});
    static const char *const bad[] = {
        "[{\"Name\": \"e1\", \"Output\": \"{\\\"a\\\": NaN}\"}]",
        "[{\"Name\": \"e1\", \"Output\": \"{} {}\"}]",
        "[{\"Name\": \"e1\", \"Output\": \"Infinity\"}]",
        "[{\"Name\": \"e1\", \"Output\": \"\"}]",
        "[{\"Name\": \"e1\", \"Output\": \"[1,]\"}]",
        "[{\"Name\": \"e1\", \"Output\": \"\\\"\\u0001\\\"\"}]",
        "[{\"Name\": \"e1\", \"Output\": \"\\\"\xff\\\"\"}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        put(f, "r/o.json", bad[i]);
        expect_error(f, NULL, EVENT, "InvalidOutput", "entry 0 (Name e1)");
    }
    put(f, "r/o.json", "[{\"a\": tru}]");
    expect_error(f, (const char *const[]){"--transformation", "COMPACT", NULL}, EVENT,
                 "InvalidOutput", "entry 0");
}

static void test_error_output_too_large(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/big.json", NULL});
    size_t n = 2 * 1024 * 1024;
    char *text = mem_check(malloc(n + 64));
    strcpy(text, "[{\"Output\": \"\\\"");
    size_t len = strlen(text);
    memset(text + len, 'x', n);
    strcpy(text + len + n, "\\\"\"}]");
    put(f, "r/big.json", text);
    free(text);
    expect_error(f, NULL, EVENT, "InvalidOutput", "longer than 1048576 bytes");
}

static void test_error_deep_nesting(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/deep.json", NULL});
    size_t depth = 200000;
    char *text = mem_check(malloc(depth + 16));
    text[0] = '[';
    memset(text + 1, '[', depth);
    text[depth + 1] = '\0';
    put(f, "r/deep.json", text);
    free(text);
    expect_error(f, (const char *const[]){"--transformation", "COMPACT", NULL}, EVENT,
                 "InvalidOutput", "nested deeper than");
}

static void test_error_invalid_key(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/../../../etc/passwd", NULL});
    expect_error(f, NULL, EVENT, "InvalidKey", "..");
    expect_error(f, NULL,
                 "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"..\", \"Key\": \"c/m\"}}}",
                 "InvalidKey", "bucket");
}

static void test_error_no_such_bucket(void **state)
{
    struct fixture *f = *state;
    expect_located(f,
                   "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"missing-bucket\", "
                   "\"Key\": \"c/m.json\"}}}",
                   "NoSuchBucket",
                   "An error occurred (NoSuchBucket) when calling the GetObject operation: The "
                   "specified bucket does not exist",
                   "GetObject s3://missing-bucket/c/m.json");
}

static void test_error_no_such_key_manifest(void **state)
{
    struct fixture *f = *state;
    expect_located(f, EVENT, "NoSuchKey",
                   "An error occurred (NoSuchKey) when calling the GetObject operation: The "
                   "specified key does not exist.",
                   "GetObject s3://" BUCKET "/" MANIFEST_KEY);
}

static void test_error_no_such_key_result_file(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/a.json", "r/missing.json", NULL});
    put(f, "r/a.json", "[{\"Output\": \"1\"}]");
    expect_located(f, EVENT, "NoSuchKey",
                   "An error occurred (NoSuchKey) when calling the GetObject operation: The "
                   "specified key does not exist.",
                   "GetObject s3://" BUCKET "/r/missing.json");
}

/* An entry Step Functions wrote without its Output. */
static void test_error_output_not_included(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/a.json", NULL});
    put(f, "r/a.json",
        "[{\"Output\": \"1\"}, {\"Name\": \"exec-2\", \"OutputDetails\": {\"Included\": false}}]");
    expect_error(f, NULL, EVENT, "InvalidOutput",
                 "r/a.json: entry 1 (Name exec-2) at byte offset 18: the entry has no Output: Step "
                 "Functions left it out of the result file");
}

static void test_usage_errors(void **state)
{
    (void)state;
    static const char *const cases[][4] = {
        {"--transformation", "SIDEWAYS", NULL, NULL},
        {"--bogus", NULL, NULL, NULL},
        {"a.json", "b.json", NULL, NULL},
        {"--store", NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *argv[6] = {(char *)proc_bin()};
        for (int j = 0; cases[i][j]; j++)
            argv[j + 1] = (char *)cases[i][j];
        struct proc_result res;
        proc_run(argv, NULL, NULL, 10, &res);
        assert_int_equal(res.status, 2);
        assert_string_equal(res.out, "");
        assert_non_null(strstr(res.err, "usage:"));
        proc_result_free(&res);
    }
    char *help[] = {(char *)proc_bin(), "--help", NULL};
    struct proc_result res;
    proc_run(help, NULL, NULL, 10, &res);
    assert_int_equal(res.status, 0);
    assert_non_null(strstr(res.out, "--transformation"));
    proc_result_free(&res);
    char *version[] = {(char *)proc_bin(), "--version", NULL};
    proc_run(version, NULL, NULL, 10, &res);
    assert_int_equal(res.status, 0);
    assert_int_equal(strncmp(res.out, "backend-checks-results ", 23), 0);
    proc_result_free(&res);
}

/* --manifest BUCKET/KEY or s3://BUCKET/KEY: the same run as the event naming it. */
static void test_manifest_option(void **state)
{
    struct fixture *f = *state;
    put_manifest(f, (const char *const[]){"r/a.json", NULL});
    put(f, "r/a.json", "[{\"Output\": \"{\\\"n\\\": 1}\"}]");
    static const char *const names[] = {BUCKET "/" MANIFEST_KEY, "s3://" BUCKET "/" MANIFEST_KEY};
    for (size_t i = 0; i < 2; i++) {
        char *argv[] = {(char *)proc_bin(), "--store",        f->root,
                        "--manifest",       (char *)names[i], NULL};
        struct proc_result res;
        proc_run(argv, NULL, NULL, 60, &res);
        if (res.status != 0)
            fprintf(stderr, "stderr: %s\n", res.err);
        assert_int_equal(res.status, 0);
        json_t *reply = json_loads(res.out, 0, NULL);
        assert_non_null(reply);
        const char *key = json_string_value(json_object_get(reply, "key"));
        assert_string_equal(json_string_value(json_object_get(reply, "bucket")), BUCKET);
        assert_int_equal(strncmp(key, "cons-1/", 7), 0);
        char path[4096];
        snprintf(path, sizeof path, "%s/" BUCKET "/%s", f->root, key);
        json_t *doc = json_load_file(path, 0, NULL);
        assert_non_null(doc);
        assert_results(doc, "[{\"n\": 1}]");
        json_decref(doc);
        json_decref(reply);
        proc_result_free(&res);
    }
    /* A manifest that is not there fails as the event naming it would. */
    char *argv[] = {(char *)proc_bin(),
                    "--store",
                    f->root,
                    "--manifest",
                    "s3://" BUCKET "/cons-1/none.json",
                    NULL};
    struct proc_result res;
    proc_run(argv, NULL, NULL, 60, &res);
    assert_int_equal(res.status, 1);
    assert_non_null(strstr(res.err, "NoSuchKey"));
    proc_result_free(&res);
}

static void test_manifest_option_usage_errors(void **state)
{
    struct fixture *f = *state;
    /* with an event file; as a plain path without --store; with a file to --output */
    const char *const cases[][6] = {
        {"--store", f->root, "--manifest", BUCKET "/" MANIFEST_KEY, "event.json", NULL},
        {"--store", f->root, "--manifest", BUCKET "/" MANIFEST_KEY, "-", NULL},
        {"--manifest", BUCKET "/" MANIFEST_KEY, NULL},
        {"--store", f->root, "--output", "out.json", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *argv[8] = {(char *)proc_bin()};
        for (int j = 0; cases[i][j]; j++)
            argv[j + 1] = (char *)cases[i][j];
        struct proc_result res;
        proc_run(argv, EVENT, NULL, 10, &res);
        assert_int_equal(res.status, 2);
        assert_string_equal(res.out, "");
        assert_non_null(strstr(res.err, "usage:"));
        if (i < 2)
            assert_non_null(strstr(res.err, "mutually exclusive"));
        proc_result_free(&res);
    }
    assert_int_equal(files_count(f->root), 1); /* .keep and nothing else */
}

/* --output -: stdout holds exactly the bytes the store would have held, the
 * reply goes to stderr, and the store is not written. */
static void test_output_to_stdout(void **state)
{
    struct fixture *f = *state;
    struct gen_export_spec spec = {BUCKET, 3000, 3, false, 11};
    struct gen_export_info info;
    gen_export(f->root, &spec, NULL, &info);
    char *stored = results_text_for(f, NULL, info.event);
    int before = files_count(f->root);

    char *argv[] = {(char *)proc_bin(), "--store", f->root, "--output", "-", "-", NULL};
    struct proc_result res;
    proc_run(argv, info.event, NULL, 120, &res);
    assert_int_equal(res.status, 0);
    assert_int_equal(res.out_len, strlen(stored));
    assert_memory_equal(res.out, stored, res.out_len);
    assert_non_null(strstr(res.err, "{\"key\": \"")); /* the reply, on stderr */
    assert_int_equal(files_count(f->root), before);
    proc_result_free(&res);
    free(stored);
}

/* A run that fails after streaming part of results.json: never a complete
 * document on a pipe; a regular file is cut back to what it was. */
/* An export whose second result file is broken, listed after a good one of
 * 2000 entries: a run fails after streaming part of results.json. */
static void make_failing_export(struct fixture *f, struct gen_export_info *info)
{
    struct gen_export_spec spec = {BUCKET, 2000, 1, false, 12};
    gen_export(f->root, &spec, NULL, info);
    char manifest[4200];
    snprintf(manifest, sizeof manifest, "%s/" BUCKET "/%s", f->root, info->manifest_key);
    json_t *m = json_load_file(manifest, 0, NULL);
    assert_non_null(m);
    json_t *files = json_object_get(json_object_get(m, "ResultFiles"), "SUCCEEDED");
    json_array_append_new(files, json_pack("{s:s}", "Key", "broken.json"));
    assert_int_equal(json_dump_file(m, manifest, 0), 0);
    json_decref(m);
    put(f, "broken.json", "[{\"Output\": \"{\\\"a\\\": 1}\"}, {\"Output\": \"nope\"}]");
}

static void test_output_to_stdout_failure(void **state)
{
    struct fixture *f = *state;
    struct gen_export_info info;
    make_failing_export(f, &info);
    int before = files_count(f->root);

    char *argv[] = {(char *)proc_bin(), "--store", f->root, "--output", "-", "-", NULL};
    struct proc_result res;
    proc_run(argv, info.event, NULL, 120, &res);
    assert_int_equal(res.status, 1);
    assert_true(res.out_len > 256 * 1024); /* streaming had begun */
    assert_null(json_loadb(res.out, res.out_len, 0, NULL));
    assert_int_not_equal(res.out[res.out_len - 1], '}');
    char last[4096];
    proc_last_line(res.err, last, sizeof last);
    assert_non_null(strstr(last, "\"errorType\": \"InvalidOutput\""));
    proc_result_free(&res);

    /* Redirected to a file that already held something: left as it was. */
    char out_path[4200], cmd[12000];
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", f->root);
    files_write(out_path, "kept\n", 5);
    snprintf(cmd, sizeof cmd, "exec \"$0\" --store \"$1\" --output - - >>\"$2\"");
    char *sh[] = {"/bin/sh", "-c", cmd, (char *)proc_bin(), f->root, out_path, NULL};
    proc_run(sh, info.event, NULL, 120, &res);
    assert_int_equal(res.status, 1);
    size_t len;
    char *text = files_read(out_path, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(text, "kept\n", 5);
    free(text);
    proc_result_free(&res);
    assert_int_equal(files_count(f->root), before + 1); /* stdout.txt only */
}

/* Runs `exec PROGRAM --store ROOT [--output -] - REDIRECTS` under /bin/sh with
 * the event on stdin. */
static void run_redirected(struct fixture *f, const char *event, bool to_stdout,
                           const char *redirects, const char *file, struct proc_result *res)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "exec \"$0\" --store \"$1\" %s- %s", to_stdout ? "--output - " : "",
             redirects);
    char *sh[] = {"/bin/sh", "-c", cmd, (char *)proc_bin(), f->root, (char *)file, NULL};
    proc_run(sh, event, NULL, 120, res);
}

static void assert_last_error(const struct proc_result *res, const char *type, const char *text)
{
    char last[4096];
    proc_last_line(res->err, last, sizeof last);
    json_t *doc = json_loads(last, 0, NULL);
    if (!doc || !strstr(last, type) || !strstr(last, text))
        fail_msg("expected %s with \"%s\", stderr: %s", type, text, res->err);
    json_decref(doc);
}

/* The disk fills up just as the closing byte of results.json is written: the
 * file stdout was appended to is cut back to what it held before. */
static void test_output_to_stdout_commit_fails(void **state)
{
    struct fixture *f = *state;
    struct gen_export_spec spec = {BUCKET, 500, 1, false, 13};
    struct gen_export_info info;
    gen_export(f->root, &spec, NULL, &info);
    char *argv[] = {(char *)proc_bin(), "--store", f->root, "--output", "-", "-", NULL};
    struct proc_result res;
    proc_run(argv, info.event, NULL, 120, &res);
    assert_int_equal(res.status, 0);
    size_t doc_len = res.out_len;
    proc_result_free(&res);

    char out_path[4200];
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", f->root);
    files_write(out_path, "kept\n", 5);
    /* Room for every byte of the document but its last (ulimit -f, exactly). */
    struct rlimit was, limit;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
    limit = was;
    limit.rlim_cur = 5 + doc_len - 1;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
    run_redirected(f, info.event, true, ">>\"$2\"", out_path, &res);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
    assert_int_equal(res.status, 1);
    assert_last_error(&res, "IOError", "File too large");
    proc_result_free(&res);
    size_t len;
    char *text = files_read(out_path, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(text, "kept\n", 5);
    free(text);
}

/* A stdout that was closed at start is refused before anything is read or
 * written: what would be printed there is lost (and a descriptor opened
 * later must not take its number). */
static void test_closed_stdout(void **state)
{
    struct fixture *f = *state;
    const char *good[] = {"good.json", NULL};
    put(f, "good.json", "[{\"Output\": \"{\\\"a\\\": 1}\"}]");
    put_manifest(f, good);
    int before = files_count(f->root);
    for (int to_stdout = 0; to_stdout < 2; to_stdout++) {
        struct proc_result res;
        run_redirected(f, EVENT, to_stdout, ">&-", NULL, &res);
        assert_int_equal(res.status, 1);
        assert_last_error(&res, "IOError", "stdout is closed");
        proc_result_free(&res);
        assert_int_equal(files_count(f->root), before);
    }
}

/* results.json written is the end of the run: a reply that cannot be printed
 * (stdout on a full disk) is logged with the key, and the exit is 0. */
static void test_reply_lost_after_commit(void **state)
{
    struct fixture *f = *state;
    const char *good[] = {"good.json", NULL};
    put(f, "good.json", "[{\"Output\": \"{\\\"a\\\": 1}\"}]");
    put_manifest(f, good);
    int before = files_count(f->root);
    struct proc_result res;
    run_redirected(f, EVENT, false, ">/dev/full", NULL, &res);
    if (res.status != 0)
        fail_msg("exit %d: %s", res.status, res.err);
    assert_int_equal(files_count(f->root), before + 1);
    const char *lost =
        strstr(res.err, "results.json was written but the reply could not be printed");
    if (!lost)
        fail_msg("the lost reply is not reported: %s", res.err);
    assert_non_null(strstr(lost, "No space left on device"));
    assert_non_null(strstr(lost, "cons-1/"));
    proc_result_free(&res);
}

/* --output - with stderr on the same file or pipe as stdout (2>&1) is
 * refused: log lines would be mixed into results.json. */
static void test_output_to_stdout_shared_with_stderr(void **state)
{
    struct fixture *f = *state;
    const char *good[] = {"good.json", NULL};
    put(f, "good.json", "[{\"Output\": \"{\\\"a\\\": 1}\"}]");
    put_manifest(f, good);
    char out_path[4200];
    snprintf(out_path, sizeof out_path, "%s/log.txt", f->root);
    files_write(out_path, "kept\n", 5);
    struct proc_result res;
    run_redirected(f, EVENT, true, ">>\"$2\" 2>&1", out_path, &res);
    assert_int_equal(res.status, 1);
    proc_result_free(&res);
    size_t len;
    char *text = files_read(out_path, &len);
    assert_true(len > 5);
    assert_memory_equal(text, "kept\n", 5);
    assert_null(strstr(text, "\"results\""));
    struct proc_result as_read = {.err = text + 5};
    assert_last_error(&as_read, "IOError", "stdout and stderr are the same file");
    free(text);

    run_redirected(f, EVENT, true, "2>&1 | cat", NULL, &res);
    assert_null(strstr(res.out, "\"results\""));
    assert_last_error(&(struct proc_result){.err = res.out}, "IOError",
                      "stdout and stderr are the same pipe");
    proc_result_free(&res);
}

/* A stdout pipe left in non-blocking mode, read slowly: the writer waits for
 * room (it does not fail with EAGAIN) and the document arrives whole. */
static void test_output_to_nonblocking_pipe(void **state)
{
    struct fixture *f = *state;
    struct gen_export_spec spec = {BUCKET, 3000, 1, false, 14};
    struct gen_export_info info;
    gen_export(f->root, &spec, NULL, &info);
    char *stored = results_text_for(f, NULL, info.event);
    char event_path[4200];
    snprintf(event_path, sizeof event_path, "%s/event.json", f->root);
    files_write(event_path, info.event, strlen(info.event));

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(fds[1], STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(fds[0]);
        execl(proc_bin(), proc_bin(), "--store", f->root, "--output", "-", event_path,
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    /* A slow reader: the pipe fills up before anything is read. */
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    size_t cap = strlen(stored) + 65536, len = 0;
    char *got = mem_check(malloc(cap));
    ssize_t n;
    while (len < cap && (n = read(fds[0], got + len, cap - len)) > 0)
        len += (size_t)n;
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(len, strlen(stored));
    assert_memory_equal(got, stored, len);
    free(got);
    free(stored);
}

/* SIGTERM while results.json waits on a stdout pipe nobody reads: the run
 * stops (Interrupted, exit 143) instead of retrying the write for ever. */
static void test_output_to_stalled_pipe_stopped_by_signal(void **state)
{
    struct fixture *f = *state;
    struct gen_export_spec spec = {BUCKET, 3000, 1, false, 15};
    struct gen_export_info info;
    gen_export(f->root, &spec, NULL, &info);
    char event_path[4200];
    snprintf(event_path, sizeof event_path, "%s/event.json", f->root);
    files_write(event_path, info.event, strlen(info.event));
    int out[2], err[2];
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        close(out[0]);
        close(err[0]);
        execl(proc_bin(), proc_bin(), "--store", f->root, "--output", "-", event_path,
              (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    /* The pipe is full: the writer is blocked. */
    int queued = 0;
    for (int i = 0; i < 3000 && queued < 65536; i++) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
        assert_int_equal(ioctl(out[0], FIONREAD, &queued), 0);
    }
    assert_true(queued >= 65536);
    assert_int_equal(kill(pid, SIGTERM), 0);
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 3000 && done == 0; i++) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
        done = waitpid(pid, &status, WNOHANG);
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("SIGTERM did not stop a run blocked writing to stdout");
    }
    char text[65536];
    ssize_t n = read(err[0], text, sizeof text - 1);
    text[n > 0 ? n : 0] = '\0';
    close(out[0]);
    close(err[0]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 143);
    struct proc_result as_read = {.err = text};
    assert_last_error(&as_read, "Interrupted", "SIGTERM");
}

/* --output - on a terminal: the document has no final newline, so the error
 * line after a failure starts on a line of its own. */
static void test_output_to_terminal_failure(void **state)
{
    struct fixture *f = *state;
    struct gen_export_info info;
    make_failing_export(f, &info);
    char event_path[4200];
    snprintf(event_path, sizeof event_path, "%s/event.json", f->root);
    files_write(event_path, info.event, strlen(info.event));
    int terminal;
    pid_t pid = forkpty(&terminal, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(proc_bin(), proc_bin(), "--store", f->root, "--output", "-", event_path,
              (char *)NULL);
        _exit(127);
    }
    size_t cap = 4 * 1024 * 1024, len = 0;
    char *screen = mem_check(malloc(cap));
    ssize_t n;
    while (len < cap - 1 && (n = read(terminal, screen + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    screen[len] = '\0';
    close(terminal);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    const char *line = strstr(screen, "{\"errorType\"");
    assert_non_null(line);
    assert_true(line > screen);
    assert_int_equal(line[-1], '\n');
    free(screen);
}

/* A realistic export, checked entry by entry against what the generator wrote. */
static void check_generated(struct fixture *f, uint64_t entries, int files, bool jsonl)
{
    struct gen_export_spec spec = {BUCKET, entries, files, jsonl, 7};
    struct gen_export_info info;
    char expected_path[4200];
    snprintf(expected_path, sizeof expected_path, "%s/expected.jsonl", f->root);
    gen_export(f->root, &spec, expected_path, &info);
    char *argv[] = {(char *)proc_bin(), "--store", f->root, "-", NULL};
    struct proc_result res;
    proc_run(argv, info.event, NULL, 300, &res);
    assert_int_equal(res.status, 0);
    json_t *reply = json_loads(res.out, 0, NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/" BUCKET "/%s", f->root,
             json_string_value(json_object_get(reply, "key")));
    json_decref(reply);
    proc_result_free(&res);

    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    assert_non_null(doc);
    json_t *results = json_object_get(doc, "results");
    assert_int_equal(json_array_size(results), entries);
    FILE *expected = fopen(expected_path, "r");
    assert_non_null(expected);
    char *line = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < entries; i++) {
        assert_true(getline(&line, &cap, expected) > 0);
        json_t *want = json_loads(line, 0, &jerr);
        assert_non_null(want);
        if (!json_equal(want, json_array_get(results, i)))
            fail_msg("entry %zu differs: expected %s", i, line);
        json_decref(want);
    }
    free(line);
    fclose(expected);
    json_decref(doc);
}

static void test_generated_export_50000_entries(void **state)
{
    check_generated(*state, 50000, 3, false);
}

static void test_generated_export_json_lines(void **state)
{
    check_generated(*state, 2000, 2, true);
}

/* tests/tools/NAME, next to this file's directory (the tests run from the
 * repository root). */
static void python_tool(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s", __FILE__);
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
    slash = strrchr(out, '/');
    size_t base = slash ? (size_t)(slash - out + 1) : 0;
    snprintf(out + base, cap - base, "tools/%s", name);
}

/* An export full of non-ASCII text (2-, 3- and 4-byte UTF-8, lone surrogates,
 * raw and escaped, in keys and values, in both file formats): results.json is
 * ASCII and byte for byte what Python's json.dumps writes for the same values. */
static void test_generated_unicode_export_matches_python(void **state)
{
    struct fixture *f = *state;
    char tool[4200];
    python_tool("unicode_export.py", tool, sizeof tool);
    char *gen[] = {"/usr/bin/env", "python3", tool, "generate", f->root, BUCKET, "3000", NULL};
    struct proc_result res;
    proc_run(gen, NULL, NULL, 120, &res);
    if (res.status == 127) {
        proc_result_free(&res);
        skip(); /* no python3 */
    }
    if (res.status != 0)
        fail_msg("generator failed: %s", res.err);
    char *event = mem_check(strdup(res.out));
    proc_result_free(&res);

    char *argv[] = {(char *)proc_bin(), "--store", f->root, "-", NULL};
    proc_run(argv, event, NULL, 120, &res);
    free(event);
    assert_int_equal(res.status, 0);
    json_t *reply = json_loads(res.out, 0, NULL);
    char *key = mem_check(strdup(json_string_value(json_object_get(reply, "key"))));
    json_decref(reply);
    proc_result_free(&res);

    char *check[] = {"/usr/bin/env", "python3", tool, "check", f->root, BUCKET, key, NULL};
    proc_run(check, NULL, NULL, 120, &res);
    if (res.status != 0)
        fail_msg("results.json is not what json.dumps writes: %s", res.err);
    proc_result_free(&res);
    free(key);
}

/* Runs `python3 tests/tools/python_json.py args...`; skips the test without
 * python3. Returns its stdout (caller frees). */
static char *python_json(char *const args[])
{
    char tool[4200];
    python_tool("python_json.py", tool, sizeof tool);
    char *argv[8] = {"/usr/bin/env", "python3", tool};
    for (int i = 0; args[i] && i < 4; i++)
        argv[3 + i] = args[i];
    struct proc_result res;
    proc_run(argv, NULL, NULL, 120, &res);
    if (res.status == 127) {
        proc_result_free(&res);
        skip(); /* no python3 */
    }
    if (res.status != 0)
        fail_msg("python_json.py %s failed: %s", args[0], res.err);
    char *out = mem_check(strdup(res.out));
    proc_result_free(&res);
    return out;
}

/* An export that Python's json.loads reads and a strict reader would not:
 * several members of one name (the last counts) in the event, the manifest and
 * the entries; NaN, Infinity, 1e400, long integers, lone surrogate and \u0000
 * escapes, deep nesting in members the step does not use; DEL and non-ASCII
 * text raw and escaped in the Outputs, three of them about 1 MiB and alone in
 * their batch, whose ASCII copies are up to 3 times longer. results.json is
 * byte for byte what the Python function wrote. */
static void test_python_json_export_matches_python(void **state)
{
    struct fixture *f = *state;
    char *event = python_json((char *[]){"generate", f->root, BUCKET, NULL});
    struct proc_result res;
    run_cli(f, NULL, event, &res);
    free(event);
    if (res.status != 0)
        fail_msg("the run failed: %s", res.err);
    json_t *reply = json_loads(res.out, 0, NULL);
    char *key = mem_check(strdup(json_string_value(json_object_get(reply, "key"))));
    json_decref(reply);
    proc_result_free(&res);
    free(python_json((char *[]){"check", f->root, BUCKET, key, NULL}));
    free(key);
}

/* Runs one NONE entry whose Output is `output` (a JSON text, escaped into the
 * entry here); returns the exit status, the last stderr line in last. */
static int run_output(struct fixture *f, const char *output, char *last, size_t cap)
{
    size_t n = strlen(output);
    char *file = mem_check(malloc(2 * n + 64)), *p = file;
    p += sprintf(p, "[{\"Output\": \"");
    for (size_t i = 0; i < n; i++) {
        if (output[i] == '"' || output[i] == '\\')
            *p++ = '\\';
        *p++ = output[i];
    }
    strcpy(p, "\"}]");
    put(f, "r/SUCCEEDED_0.json", file);
    free(file);
    put_manifest(f, (const char *const[]){"r/SUCCEEDED_0.json", NULL});
    struct proc_result res;
    run_cli(f, NULL, EVENT, &res);
    proc_last_line(res.err, last, cap);
    int status = res.status;
    proc_result_free(&res);
    return status;
}

/* An Output Python's json.loads refuses is refused (InvalidOutput, with the
 * entry): nesting deeper than json.loads reads from a Lambda handler, an
 * integer longer than Python's int conversion limit. The bounds are the ones
 * python3 measures here when it is the Python 3.11 the function ran on. */
static void test_outputs_python_refuses_are_refused(void **state)
{
    struct fixture *f = *state;
    char *limits = python_json((char *[]){"limits", NULL});
    json_t *doc = json_loads(limits, 0, NULL);
    assert_non_null(doc);
    if (strcmp(json_string_value(json_object_get(doc, "version")), "3.11") == 0) {
        assert_int_equal(json_integer_value(json_object_get(doc, "depth")), JSON_OUTPUT_MAX_DEPTH);
        assert_int_equal(json_integer_value(json_object_get(doc, "int_digits")),
                         JSON_INT_MAX_DIGITS);
    }
    json_decref(doc);
    free(limits);

    char last[8192];
    for (int objects = 0; objects < 2; objects++) {
        char *ok = gen_nested_json(JSON_OUTPUT_MAX_DEPTH, objects);
        assert_int_equal(run_output(f, ok, last, sizeof last), 0);
        free(ok);
        char *deep = gen_nested_json(JSON_OUTPUT_MAX_DEPTH + 1, objects);
        assert_int_equal(run_output(f, deep, last, sizeof last), 1);
        assert_non_null(strstr(last, "\"InvalidOutput\""));
        assert_non_null(strstr(last, "entry 0 at byte offset 1"));
        assert_non_null(strstr(last, "nested deeper than 990 levels"));
        free(deep);
    }
    char digits[JSON_INT_MAX_DIGITS + 16];
    for (int sign = 0; sign < 2; sign++) {
        size_t k = 0;
        if (sign)
            digits[k++] = '-';
        memset(digits + k, '9', JSON_INT_MAX_DIGITS);
        digits[k + JSON_INT_MAX_DIGITS] = '\0';
        assert_int_equal(run_output(f, digits, last, sizeof last), 0);
        strcpy(digits + k + JSON_INT_MAX_DIGITS, "9");
        assert_int_equal(run_output(f, digits, last, sizeof last), 1);
        assert_non_null(strstr(last, "\"InvalidOutput\""));
        assert_non_null(strstr(last, "has 4301 digits, more than the 4300"));
        /* A number with a fraction or an exponent is a float, of any length. */
        strcpy(digits + k + JSON_INT_MAX_DIGITS, ".5");
        assert_int_equal(run_output(f, digits, last, sizeof last), 0);
        strcpy(digits + k + JSON_INT_MAX_DIGITS, "9e-5");
        assert_int_equal(run_output(f, digits, last, sizeof last), 0);
    }
}

/* With stderr on a terminal, a long run redraws one progress line in place. */
static void test_progress_line_on_a_terminal(void **state)
{
    struct fixture *f = *state;
    struct gen_export_spec spec = {BUCKET, 150000, 2, true, 11};
    struct gen_export_info info;
    gen_export(f->root, &spec, NULL, &info);
    char event_path[4200];
    snprintf(event_path, sizeof event_path, "%s/event.json", f->root);
    files_write(event_path, info.event, strlen(info.event));
    int terminal;
    pid_t pid = forkpty(&terminal, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(proc_bin(), proc_bin(), "--store", f->root, event_path, (char *)NULL);
        _exit(127);
    }
    char screen[65536];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof screen - 1 &&
           (n = read(terminal, screen + len, sizeof screen - 1 - len)) > 0)
        len += (size_t)n;
    screen[len] = '\0';
    close(terminal);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_non_null(strstr(screen, "\r\033[K"));
    assert_non_null(strstr(screen, " entries, "));
    assert_non_null(strstr(screen, " MB/s"));
    assert_non_null(strstr(screen, "\"bucket\": \"" BUCKET "\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seed_readme_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_files_in_manifest_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_bucket_defaults_to_event_bucket, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_and_flatten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unicode_and_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lone_surrogates_pass_through, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers_pass_through_as_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_order_preserved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_succeeded_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_from_file_argument, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_invalid_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_invalid_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_and_pending_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_invalid_result_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_invalid_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_output_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_deep_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_invalid_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_no_such_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_no_such_key_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_no_such_key_result_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_output_not_included, setup, teardown),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test_setup_teardown(test_manifest_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_option_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_to_stdout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_to_stdout_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_to_stdout_commit_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_stdout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_lost_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_to_stdout_shared_with_stderr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_to_nonblocking_pipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_to_stalled_pipe_stopped_by_signal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_output_to_terminal_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_export_50000_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_export_json_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_python_json_export_matches_python, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outputs_python_refuses_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_unicode_export_matches_python, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_progress_line_on_a_terminal, setup, teardown),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
