/* The command line against a real S3 server (s3rver) through a proxy that
 * checks every request's signature and injects faults (tests/s3/server.js,
 * tests/support/s3env.h): the same results.json as the directory store, keys
 * of every shape, session tokens, multipart output, resumed reads, retries,
 * S3's errors passed through, and no multipart upload left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mem.h"
#include "proc.h"
#include "files.h"
#include "gen.h"
#include "s3env.h"

#define BUCKET "tdr-backend-checks-intg"
#define MIB (1024L * 1024L)

static struct s3env env;
static bool server_up;

/* ---------------------------------------------------------------- fixture */

struct fx {
    char *root;       /* the test's temporary directory */
    char store[4200]; /* a directory store (below root) holding the latest export */
    char event_path[4200];
    struct gen_export_info info;
    char *expected; /* results.json from the directory store */
    size_t expected_len;
};

static int group_setup(void **state)
{
    (void)state;
    s3env_isolate_environment();
    if (!s3env_node_available())
        return 0;
    if (s3env_start(&env, NULL) != 0)
        return -1;
    server_up = true;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    long failures = server_up ? s3env_stat(&env, "totals.signature_failures") : 0;
    s3env_stop(&env);
    if (failures != 0)
        fprintf(stderr, "the S3 proxy saw %ld wrongly signed requests in this suite\n", failures);
    return failures == 0 ? 0 : -1;
}

static int setup(void **state)
{
    struct fx *f = mem_check(calloc(1, sizeof *f));
    f->root = files_tmpdir();
    *state = f;
    if (server_up) {
        /* Each test starts with no faults, S3's own rules and fresh counters. */
        if (s3env_clear_faults(&env) || s3env_configure(&env, NULL, 5 * MIB) ||
            s3env_reset_stats(&env))
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    files_rmtree(f->root);
    free(f->root);
    free(f->expected);
    free(f);
    return 0;
}

#define REQUIRE_SERVER()                                                                           \
    do {                                                                                           \
        if (!server_up)                                                                            \
            skip();                                                                                \
    } while (0)

/* ---------------------------------------------------------------- running the product */

static void write_event(struct fx *f, const char *event)
{
    snprintf(f->event_path, sizeof f->event_path, "%s/event.json", f->root);
    files_write(f->event_path, event, strlen(event));
}

/* The product against S3 through the proxy; extra: NULL-terminated env. */
static void run_s3(struct fx *f, char *const extra[], struct proc_result *res)
{
    char *argv[] = {(char *)proc_bin(), "--endpoint-url", env.endpoint, f->event_path, NULL};
    proc_run(argv, NULL, s3env_env(&env, extra), 120, res);
}

static void show(const char *what, const struct proc_result *res)
{
    fprintf(stderr, "%s: exit %d\n--- stdout\n%s--- stderr (last 4000 bytes)\n%s\n", what,
            res->status, res->out, res->err_len > 4000 ? res->err + res->err_len - 4000 : res->err);
}

static void assert_ok(const char *what, const struct proc_result *res)
{
    if (res->status != 0)
        show(what, res);
    assert_int_equal(res->status, 0);
}

/* The reply's key (copied into key) after checking its bucket and shape
 * {consignment}/{uuid}/results.json. */
static void reply_key(const struct proc_result *res, const char *bucket, const char *consignment,
                      char *key, size_t cap)
{
    json_t *reply = json_loads(res->out, 0, NULL);
    assert_non_null(reply);
    const char *k = json_string_value(json_object_get(reply, "key"));
    const char *b = json_string_value(json_object_get(reply, "bucket"));
    assert_non_null(k);
    assert_non_null(b);
    assert_string_equal(b, bucket);
    size_t clen = strlen(consignment);
    assert_int_equal(strncmp(k, consignment, clen), 0);
    assert_int_equal(k[clen], '/');
    assert_int_equal(strlen(k + clen), 1 + 36 + strlen("/results.json"));
    assert_string_equal(k + clen + 37, "/results.json");
    snprintf(key, cap, "%s", k);
    json_decref(reply);
}

/* The error document on the last line of stderr: checks exit status 1, empty
 * stdout, the errorType, and that errorMessage starts with prefix. */
static void assert_error_starts(const struct proc_result *res, const char *type, const char *prefix)
{
    char line[4096];
    proc_last_line(res->err, line, sizeof line);
    json_t *doc = json_loads(line, 0, NULL);
    if (res->status != 1 || !doc)
        show("expected a failure", res);
    assert_int_equal(res->status, 1);
    assert_int_equal(res->out_len, 0);
    assert_non_null(doc);
    const char *t = json_string_value(json_object_get(doc, "errorType"));
    const char *m = json_string_value(json_object_get(doc, "errorMessage"));
    assert_non_null(t);
    assert_non_null(m);
    bool ok = strncmp(m, prefix, strlen(prefix)) == 0;
    if (strcmp(t, type) != 0 || !ok)
        fprintf(stderr, "error document: %s\nexpected type %s, message starting %s\n", line, type,
                prefix);
    assert_string_equal(t, type);
    assert_true(ok);
    json_decref(doc);
}

/* An S3 failure: the errorType, the message exactly (botocore's text, no
 * location in it), and the ERROR line just before the error document giving
 * where it happened, starting with `where` (a byte offset may follow). */
static void assert_s3_error_at(const struct proc_result *res, const char *type, const char *message,
                               bool exact, const char *where)
{
    assert_error_starts(res, type, message);
    char line[4096];
    proc_last_line(res->err, line, sizeof line);
    json_t *doc = json_loads(line, 0, NULL);
    if (exact)
        assert_string_equal(json_string_value(json_object_get(doc, "errorMessage")), message);
    json_decref(doc);
    assert_true(res->err_len > strlen(line) + 1);
    const char *end = res->err + res->err_len - strlen(line) - 2, *start = end;
    while (start > res->err && start[-1] != '\n')
        start--;
    char previous[4096], want[2048];
    snprintf(previous, sizeof previous, "%.*s", (int)(end - start), start);
    snprintf(want, sizeof want, "\tERROR\tfailed errorType=%s where=%s", type, where);
    if (!strstr(previous, want))
        fprintf(stderr, "the line before the error document: %s\nexpected in it: %s\n", previous,
                want);
    assert_non_null(strstr(previous, want));
}

static void assert_s3_error(const struct proc_result *res, const char *type, const char *message,
                            const char *where)
{
    assert_s3_error_at(res, type, message, true, where);
}

/* "GetObject s3://BUCKET/" and the key of the export's manifest, or with
 * file >= 0 of its SUCCEEDED_<file>.json, into out. */
static const char *object_where(const struct fx *f, const char *operation, int file, char *out,
                                size_t cap)
{
    const char *key = f->info.manifest_key;
    if (file < 0)
        snprintf(out, cap, "%s s3://" BUCKET "/%s", operation, key);
    else
        snprintf(out, cap, "%s s3://" BUCKET "/%.*s/SUCCEEDED_%d.json", operation,
                 (int)(strrchr(key, '/') - key), key, file);
    return out;
}

/* Generates an export in f->root, uploads it to S3, writes the event file,
 * and runs the product on the directory store for the expected results.json. */
static void make_export(struct fx *f, uint64_t entries, int files, bool jsonl, uint32_t seed)
{
    struct gen_export_spec spec = {
        .bucket = BUCKET, .entries = entries, .files = files, .jsonl = jsonl, .seed = seed};
    snprintf(f->store, sizeof f->store, "%s/store-%u", f->root, seed);
    gen_export(f->store, &spec, NULL, &f->info);
    assert_int_equal(s3env_upload_tree(&env, f->store), files + 1);
    write_event(f, f->info.event);

    char *argv[] = {(char *)proc_bin(), "--store", f->store, f->event_path, NULL};
    struct proc_result res;
    proc_run(argv, NULL, NULL, 120, &res);
    assert_ok("directory store", &res);
    char key[1200], path[8192];
    reply_key(&res, BUCKET, f->info.consignment_id, key, sizeof key);
    snprintf(path, sizeof path, "%s/%s/%s", f->store, BUCKET, key);
    free(f->expected);
    f->expected = files_read(path, &f->expected_len);
    assert_non_null(f->expected);
    proc_result_free(&res);
}

/* Checks the object the reply names holds exactly the expected results.json. */
static void assert_output(struct fx *f, const struct proc_result *res, const char *consignment)
{
    char key[1200];
    reply_key(res, BUCKET, consignment, key, sizeof key);
    size_t len = 0;
    char *got = s3env_get(&env, BUCKET, key, &len);
    assert_non_null(got);
    if (len != f->expected_len || memcmp(got, f->expected, len) != 0) {
        size_t i = 0;
        while (i < len && i < f->expected_len && got[i] == f->expected[i])
            i++;
        fprintf(stderr,
                "results.json differs from the directory store's: %zu vs %zu bytes, "
                "first difference at byte %zu\n",
                len, f->expected_len, i);
    }
    assert_int_equal(len, f->expected_len);
    assert_memory_equal(got, f->expected, len);
    free(got);
}

/* results.json objects ({consignment}/{uuid}/results.json) in the bucket. */
static int count_outputs(const char *consignment)
{
    char prefix[1100];
    snprintf(prefix, sizeof prefix, "%s/", consignment);
    char **keys;
    int n = s3env_list(&env, BUCKET, prefix, &keys);
    assert_true(n >= 0);
    int outputs = 0;
    size_t plen = strlen(prefix);
    for (int i = 0; i < n; i++) {
        const char *rest = keys[i] + plen;
        if (strlen(rest) == 36 + strlen("/results.json") && strcmp(rest + 36, "/results.json") == 0)
            outputs++;
    }
    s3env_free_keys(keys);
    return outputs;
}

/* Requests in the proxy's log (since the test's reset) for which every given
 * condition holds: op (or NULL), key suffix (or NULL), and a flag set. */
enum { WITH_RANGE = 1, WITH_IF_MATCH = 2, SIGNED_PAYLOAD = 4, FAULTED = 8, CRC32C = 16 };
static int count_requests(const char *op, const char *key_suffix, int flags)
{
    char *text = s3env_control(&env, "GET", "/__control/requests", NULL);
    assert_non_null(text);
    json_t *log = json_loads(text, 0, NULL);
    free(text);
    assert_true(json_is_array(log));
    int n = 0;
    size_t i;
    json_t *r;
    json_array_foreach(log, i, r)
    {
        const char *rop = json_string_value(json_object_get(r, "op"));
        const char *key = json_string_value(json_object_get(r, "key"));
        if (op && (!rop || strcmp(rop, op) != 0))
            continue;
        if (key_suffix) {
            size_t kl = key ? strlen(key) : 0, sl = strlen(key_suffix);
            if (kl < sl || strcmp(key + kl - sl, key_suffix) != 0)
                continue;
        }
        if ((flags & WITH_RANGE) && !json_is_string(json_object_get(r, "range")))
            continue;
        if ((flags & WITH_IF_MATCH) && !json_is_string(json_object_get(r, "if_match")))
            continue;
        const char *payload = json_string_value(json_object_get(r, "payload"));
        if ((flags & SIGNED_PAYLOAD) && (!payload || strcmp(payload, "signed") != 0))
            continue;
        if ((flags & FAULTED) && !json_is_string(json_object_get(r, "fault")))
            continue;
        const char *checksum = json_string_value(json_object_get(r, "checksum"));
        if ((flags & CRC32C) && (!checksum || strcmp(checksum, "crc32c") != 0))
            continue;
        n++;
    }
    json_decref(log);
    return n;
}

/* Every test ends here: no request the proxy saw was signed or hashed wrongly. */
static void assert_clean_signatures(void)
{
    long failures = s3env_stat(&env, "signature_failures");
    if (failures != 0) {
        char *stats = s3env_control(&env, "GET", "/__control/stats", NULL);
        fprintf(stderr, "signature failures: %s\n", stats ? stats : "?");
        free(stats);
    }
    assert_int_equal(failures, 0);
}

/* ---------------------------------------------------------------- tests */

/* The same export gives byte-for-byte the same results.json through S3 as
 * through the directory store, for JSON arrays and JSON Lines. */
static void test_same_output_as_directory_store(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    for (int jsonl = 0; jsonl <= 1; jsonl++) {
        make_export(f, 1500, 3, jsonl, 101 + (uint32_t)jsonl);
        struct proc_result res;
        run_s3(f, NULL, &res);
        assert_ok("S3", &res);
        assert_output(f, &res, f->info.consignment_id);
        proc_result_free(&res);

        json_t *doc = json_loadb(f->expected, f->expected_len, 0, NULL);
        assert_non_null(doc);
        assert_int_equal(json_array_size(json_object_get(doc, "results")), 1500);
        json_decref(doc);
        assert_int_equal(count_outputs(f->info.consignment_id), 1);
        assert_int_equal(s3env_count_uploads(&env, f->info.consignment_id), 0);
    }
    /* Small output: one PutObject, its SHA-256 signed over plain HTTP and its
     * CRC-32C sent (the proxy checks both against the body); every result
     * file read. */
    assert_int_equal(count_requests("CreateMultipartUpload", NULL, 0), 0);
    assert_int_equal(count_requests("PutObject", "/results.json", 0), 2);
    assert_int_equal(count_requests("PutObject", "/results.json", SIGNED_PAYLOAD | CRC32C), 2);
    assert_true(count_requests("GetObject", "/SUCCEEDED_2.json", 0) >= 2);
    assert_clean_signatures();
}

/* Puts the export's result files and manifest under other keys, and points
 * the event at the new manifest. keys[0] is the manifest's. */
static void rekey_export(struct fx *f, const char *const keys[], int files)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s/%s", f->store, BUCKET, f->info.manifest_key);
    json_t *manifest = json_load_file(path, 0, NULL);
    assert_non_null(manifest);
    json_t *succeeded = json_object_get(json_object_get(manifest, "ResultFiles"), "SUCCEEDED");
    assert_int_equal(json_array_size(succeeded), files);
    for (int i = 0; i < files; i++) {
        json_t *entry = json_array_get(succeeded, (size_t)i);
        snprintf(path, sizeof path, "%s/%s/%s", f->store, BUCKET,
                 json_string_value(json_object_get(entry, "Key")));
        size_t len;
        char *data = files_read(path, &len);
        assert_non_null(data);
        assert_int_equal(s3env_put(&env, BUCKET, keys[1 + i], data, len), 0);
        free(data);
        json_object_set_new(entry, "Key", json_string(keys[1 + i]));
    }
    char *text = mem_check(json_dumps(manifest, JSON_COMPACT));
    assert_int_equal(s3env_put(&env, BUCKET, keys[0], text, strlen(text)), 0);
    free(text);
    json_decref(manifest);

    json_t *event = json_pack("{s:{s:s, s:{s:s, s:s}}}", "results", "MapRunArn",
                              "arn:aws:states:eu-west-2:123456789012:mapRun:sm/Map:x",
                              "ResultWriterDetails", "Bucket", BUCKET, "Key", keys[0]);
    text = mem_check(json_dumps(event, JSON_COMPACT));
    write_event(f, text);
    free(text);
    json_decref(event);
}

/* Keys with characters that need encoding, empty segments and ~900 bytes, in
 * the manifest key (so in the output key too) and the result file keys. */
static void test_key_shapes(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 300, 3, false, 202);

    /* The consignment segment (first of the manifest key) holds the
     * characters too: the output key is built from it. */
    const char *consignment = "cons id+&=%;:@,$!*'()~ ünï ✓";
    char manifest_key[1024], key0[1024], key1[1024], key2[1100];
    snprintf(manifest_key, sizeof manifest_key,
             "%s/run a+b&c=d%%25e?f#g/ünïcødé ✓ 日本語/results.json//map/manifest.json",
             consignment);
    snprintf(key0, sizeof key0, "%s/files/SUCCEEDED 0 +&=%%.json", consignment);
    snprintf(key1, sizeof key1, "%s/a//b/日本語 ✓ [x] {y} <z> \"q\" \\/SUCCEEDED_1.json",
             consignment);
    /* About 900 bytes, in segments short enough for s3rver's file names. */
    int n = snprintf(key2, sizeof key2, "%s", consignment);
    for (int seg = 0; seg < 4; seg++) {
        n += snprintf(key2 + n, sizeof key2 - (size_t)n, "/seg%d ", seg);
        for (int i = 0; i < 60; i++)
            n += snprintf(key2 + n, sizeof key2 - (size_t)n, "%s", i % 2 ? "ab+c" : "é=");
    }
    n += snprintf(key2 + n, sizeof key2 - (size_t)n, "/SUCCEEDED_2.json");
    assert_true(n >= 850 && n <= 1000);

    const char *keys[] = {manifest_key, key0, key1, key2};
    rekey_export(f, keys, 3);
    struct proc_result res;
    run_s3(f, NULL, &res);
    assert_ok("S3 with unusual keys", &res);
    assert_output(f, &res, consignment);
    proc_result_free(&res);
    assert_true(count_requests("GetObject", "/SUCCEEDED_1.json", 0) >= 1);
    assert_true(count_requests("GetObject", "/SUCCEEDED_2.json", 0) >= 1);
    assert_int_equal(count_outputs(consignment), 1);
    assert_clean_signatures();
}

/* A manifest key whose first segment is empty (S3 allows it) is read as it
 * is, as the Python function read it: missing, it is NoSuchKey; present, the
 * consignment id is "" and results.json goes to "/{uuid}/results.json". */
static void test_key_with_empty_first_segment(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    write_event(f, "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET
                   "\", \"Key\": \"/missing/manifest.json\"}}}");
    struct proc_result res;
    run_s3(f, NULL, &res);
    assert_s3_error(&res, "NoSuchKey",
                    "An error occurred (NoSuchKey) when calling the GetObject operation: The "
                    "specified key does not exist.",
                    "GetObject s3://" BUCKET "//missing/manifest.json");
    proc_result_free(&res);

    make_export(f, 50, 2, false, 203);
    const char *keys[] = {"/run/results.json/map/manifest.json", "/run/SUCCEEDED_0.json",
                          "/run/SUCCEEDED_1.json"};
    rekey_export(f, keys, 2);
    run_s3(f, NULL, &res);
    assert_ok("S3 with a key starting with '/'", &res);
    assert_output(f, &res, ""); /* read back from "/{uuid}/results.json" */
    proc_result_free(&res);
    assert_clean_signatures();
}

/* Temporary credentials: the token is sent and signed; without it, or with
 * another, S3 refuses and the product says so. */
static void test_session_token(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 200, 1, false, 303);
    char token[700];
    int n = snprintf(token, sizeof token, "IQoJb3JpZ2luX2VjEJr//////////wEaCWV1LXdlc3QtMiJH+");
    while (n < 600)
        n += snprintf(token + n, sizeof token - (size_t)n, "AbC/dEf+GhI=%d", n);
    assert_int_equal(s3env_configure(&env, token, 0), 0);

    struct proc_result res;
    run_s3(f, NULL, &res);
    assert_ok("S3 with a session token", &res);
    assert_output(f, &res, f->info.consignment_id);
    proc_result_free(&res);
    assert_int_equal(s3env_stat(&env, "credential_failures"), 0);

    char *no_token[] = {"AWS_SESSION_TOKEN=", NULL};
    char where[2048];
    object_where(f, "GetObject", -1, where, sizeof where);
    run_s3(f, no_token, &res);
    assert_s3_error(&res, "InvalidAccessKeyId",
                    "An error occurred (InvalidAccessKeyId) when calling the GetObject operation: "
                    "The AWS Access Key Id you provided does not exist in our records. (temporary "
                    "credentials need x-amz-security-token)",
                    where);
    proc_result_free(&res);

    char *other_token[] = {"AWS_SESSION_TOKEN=not-the-token", NULL};
    run_s3(f, other_token, &res);
    assert_s3_error(&res, "InvalidToken",
                    "An error occurred (InvalidToken) when calling the GetObject operation: The "
                    "provided token is malformed or otherwise invalid.",
                    where);
    proc_result_free(&res);
    assert_true(s3env_stat(&env, "credential_failures") >= 2);
    assert_int_equal(count_outputs(f->info.consignment_id), 1);
    assert_int_equal(s3env_configure(&env, NULL, 0), 0);
    assert_clean_signatures();
}

/* An output larger than a part goes up as a multipart upload of S3-sized
 * parts (the proxy refuses a non-last part under 5 MiB) and arrives whole. */
static void test_multipart_output(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 9000, 2, false, 404);
    int parts = (int)((f->expected_len + 5 * MIB - 1) / (5 * MIB));
    assert_true(parts >= 3);
    char *extra[] = {"BCR_S3_PART_SIZE=5242880", NULL};
    struct proc_result res;
    run_s3(f, extra, &res);
    assert_ok("S3 multipart", &res);
    assert_output(f, &res, f->info.consignment_id);
    proc_result_free(&res);
    assert_int_equal(count_requests("CreateMultipartUpload", "/results.json", 0), 1);
    assert_int_equal(count_requests("UploadPart", "/results.json", 0), parts);
    assert_int_equal(count_requests("UploadPart", "/results.json", SIGNED_PAYLOAD), parts);
    /* Each part's CRC-32C, checked by the proxy as S3 checks it, and listed in the completion. */
    assert_int_equal(count_requests("UploadPart", "/results.json", CRC32C), parts);
    assert_int_equal(s3env_stat(&env, "checksums_checked"), parts);
    assert_int_equal(s3env_stat(&env, "checksum_mismatches"), 0);
    assert_int_equal(count_requests("CompleteMultipartUpload", "/results.json", 0), 1);
    assert_int_equal(count_requests("PutObject", NULL, 0), 0);
    assert_int_equal(s3env_count_uploads(&env, f->info.consignment_id), 0);
    assert_int_equal(count_outputs(f->info.consignment_id), 1);
    assert_clean_signatures();
}

/* A result file's body cut half-way is resumed from where it stopped (Range,
 * If-Match), twice over, and the output is unchanged. */
static void test_resume_after_cut_body(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 1000, 1, false, 505);
    assert_int_equal(s3env_set_faults(&env,
                                      "[{\"op\":\"GetObject\",\"key\":\"SUCCEEDED_0\\\\.json$\","
                                      "\"range\":false,\"action\":\"cut\"},"
                                      "{\"op\":\"GetObject\",\"key\":\"SUCCEEDED_0\\\\.json$\","
                                      "\"range\":true,\"action\":\"cut\",\"after\":100000}]"),
                     0);
    struct proc_result res;
    run_s3(f, NULL, &res);
    assert_ok("S3 with cut bodies", &res);
    assert_output(f, &res, f->info.consignment_id);
    proc_result_free(&res);
    assert_int_equal(s3env_stat(&env, "faults_injected"), 2);
    assert_int_equal(count_requests("GetObject", "/SUCCEEDED_0.json", FAULTED), 2);
    /* Two resumptions, each a Range request pinned to the object's ETag. */
    assert_true(count_requests("GetObject", "/SUCCEEDED_0.json", WITH_RANGE | WITH_IF_MATCH) >= 2);
    assert_int_equal(count_requests("GetObject", "/SUCCEEDED_0.json", WITH_RANGE),
                     count_requests("GetObject", "/SUCCEEDED_0.json", WITH_RANGE | WITH_IF_MATCH));
    /* Not restarted from byte 0. */
    char *text = s3env_control(&env, "GET", "/__control/requests", NULL);
    assert_non_null(text);
    assert_null(strstr(text, "\"range\":\"bytes=0-"));
    free(text);
    assert_clean_signatures();
}

/* An object replaced while it is being read is not spliced: the resumption's
 * If-Match fails (412) and the run fails with nothing written. */
static void test_object_replaced_during_read(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 1000, 2, false, 515);
    assert_int_equal(s3env_set_faults(&env,
                                      "[{\"op\":\"GetObject\",\"key\":\"SUCCEEDED_1\\\\.json$\","
                                      "\"action\":\"cut\",\"overwrite\":\"[]\"}]"),
                     0);
    struct proc_result res;
    run_s3(f, NULL, &res);
    char where[2048];
    assert_s3_error(&res, "PreconditionFailed",
                    "An error occurred (PreconditionFailed) when calling the GetObject operation: "
                    "The object changed while it was being read (its ETag is no longer the one "
                    "first read).",
                    object_where(f, "GetObject", 1, where, sizeof where));
    proc_result_free(&res);
    assert_int_equal(s3env_stat(&env, "precondition_failures"), 1);
    assert_int_equal(count_requests("GetObject", "/SUCCEEDED_1.json", WITH_RANGE | WITH_IF_MATCH),
                     1);
    assert_int_equal(count_outputs(f->info.consignment_id), 0);
    assert_int_equal(s3env_count_uploads(&env, f->info.consignment_id), 0);
    assert_clean_signatures();
}

/* 503 SlowDown, 500 InternalError and connection resets on every kind of
 * request are retried; the run succeeds with the same output. */
static void test_retries_after_errors(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 3000, 3, false, 606);
    assert_int_equal(
        s3env_set_faults(
            &env,
            "["
            "{\"op\":\"GetObject\",\"key\":\"manifest\\\\.json$\",\"action\":\"slowdown\"},"
            "{\"op\":\"GetObject\",\"key\":\"SUCCEEDED_0\\\\.json$\",\"action\":\"internal\"},"
            "{\"op\":\"GetObject\",\"key\":\"SUCCEEDED_1\\\\.json$\",\"action\":\"reset\"},"
            "{\"op\":\"CreateMultipartUpload\",\"action\":\"slowdown\"},"
            "{\"op\":\"UploadPart\",\"action\":\"internal\"},"
            "{\"op\":\"UploadPart\",\"nth\":3,\"action\":\"reset\",\"forward\":true},"
            "{\"op\":\"CompleteMultipartUpload\",\"action\":\"internal\"}"
            "]"),
        0);
    assert_int_equal(s3env_configure(&env, NULL, 1 * MIB), 0);
    char *extra[] = {"BCR_S3_PART_SIZE=1048576", "AWS_MAX_ATTEMPTS=3", NULL};
    struct proc_result res;
    run_s3(f, extra, &res);
    assert_ok("S3 with transient errors", &res);
    assert_output(f, &res, f->info.consignment_id);
    proc_result_free(&res);
    assert_int_equal(s3env_stat(&env, "faults_injected"), 7);
    assert_int_equal(s3env_count_uploads(&env, f->info.consignment_id), 0);
    assert_int_equal(count_outputs(f->info.consignment_id), 1);
    assert_clean_signatures();
}

/* A server that stops sending (before the response, or half-way through a
 * body) is given up on after the low-speed time, and the request retried or
 * resumed. */
static void test_stalled_transfers(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 1000, 1, false, 707);
    assert_int_equal(s3env_set_faults(&env,
                                      "["
                                      "{\"op\":\"GetObject\",\"key\":\"manifest\\\\.json$\","
                                      "\"action\":\"stall\",\"ms\":60000},"
                                      "{\"op\":\"GetObject\",\"key\":\"SUCCEEDED_0\\\\.json$\","
                                      "\"action\":\"stall\",\"after\":200000,\"ms\":60000}"
                                      "]"),
                     0);
    char *extra[] = {"BCR_S3_LOW_SPEED_TIME=1", NULL};
    struct proc_result res;
    run_s3(f, extra, &res);
    assert_ok("S3 with stalls", &res);
    assert_output(f, &res, f->info.consignment_id);
    proc_result_free(&res);
    assert_int_equal(s3env_stat(&env, "faults_injected"), 2);
    assert_true(count_requests("GetObject", "/SUCCEEDED_0.json", WITH_RANGE | WITH_IF_MATCH) >= 1);
    assert_clean_signatures();
}

/* A server that keeps sending, but far below the minimum rate, is given up
 * on like a stalled one, even though the reader pauses the transfer after
 * every chunk it hands over (which restarts libcurl's own speed check): the
 * run ends with an IOError, and a trickle of bytes does not count as progress
 * that would renew the attempts; nor do responses cut after a byte each. */
static void test_dripping_server(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 200, 1, false, 717);
    assert_int_equal(s3env_set_faults(&env, "[{\"op\":\"GetObject\",\"key\":\"SUCCEEDED_0\","
                                            "\"action\":\"drip\",\"bytes\":1,\"interval\":100,"
                                            "\"ms\":50000,\"count\":-1}]"),
                     0);
    char *extra[] = {"BCR_S3_LOW_SPEED_TIME=1", "AWS_MAX_ATTEMPTS=2", NULL};
    char *argv[] = {(char *)proc_bin(), "--endpoint-url", env.endpoint, f->event_path, NULL};
    struct proc_result res;
    /* Without the guard the run outlives this (each drip lasts 50 s). */
    proc_run(argv, NULL, s3env_env(&env, extra), 40, &res);
    char where[2048];
    object_where(f, "GetObject", 0, where, sizeof where);
    assert_s3_error(&res, "IOError",
                    "Could not complete the GetObject operation: the server sent less than 1024 "
                    "bytes/s for 1 s (BCR_S3_LOW_SPEED_LIMIT, BCR_S3_LOW_SPEED_TIME)",
                    where);
    proc_result_free(&res);
    /* The last attempt is logged when the server sees its connection close. */
    assert_in_range(count_requests("GetObject", "/SUCCEEDED_0.json", 0), 1, 2);

    /* Nor does a server that cuts every response after a byte. */
    assert_int_equal(s3env_reset_stats(&env), 0);
    assert_int_equal(s3env_set_faults(&env, "[{\"op\":\"GetObject\",\"key\":\"SUCCEEDED_0\","
                                            "\"action\":\"cut\",\"after\":1,\"count\":-1}]"),
                     0);
    proc_run(argv, NULL, s3env_env(&env, extra), 40, &res);
    /* Two attempts of one byte each: botocore's IncompleteReadError. */
    char path[8192], message[256];
    snprintf(path, sizeof path, "%s/%s", f->store, where + strlen("GetObject s3://"));
    size_t size;
    free(files_read(path, &size));
    snprintf(message, sizeof message, "2 read, but total bytes expected is %zu.", size);
    strcat(where, " at byte offset 2");
    assert_s3_error(&res, "IOError", message, where);
    proc_result_free(&res);
    assert_in_range(count_requests("GetObject", "/SUCCEEDED_0.json", 0), 1, 2);
    assert_int_equal(count_outputs(f->info.consignment_id), 0);
}

/* What a server says in an error reaches the caller readably: a bodiless
 * redirect says it is one and where it points, a message longer than the
 * store keeps of a body keeps its start, and a code is cut to [A-Za-z0-9.]
 * before it becomes the errorType. */
static void test_server_text_in_errors(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 10, 1, false, 919);
    struct proc_result res;

    assert_int_equal(s3env_set_faults(&env, "[{\"op\":\"GetObject\",\"key\":\"manifest\","
                                            "\"action\":\"redirect\",\"location\":"
                                            "\"https://elsewhere.example/bucket/m.json\"}]"),
                     0);
    run_s3(f, NULL, &res);
    /* No error document: botocore's message gives the status and its reason
     * phrase; the errorType is the code S3 gives a redirect, and where it
     * pointed goes with the location. */
    char where[2048], redirected[2200];
    object_where(f, "GetObject", -1, where, sizeof where);
    snprintf(redirected, sizeof redirected,
             "%s (HTTP 302 redirect to https://elsewhere.example/bucket/m.json, not followed)",
             where);
    assert_s3_error(&res, "TemporaryRedirect",
                    "An error occurred (302) when calling the GetObject operation: Found",
                    redirected);
    proc_result_free(&res);

    size_t long_len = 100000;
    char *rules = mem_check(malloc(long_len + 512));
    int n = snprintf(rules, 512,
                     "[{\"op\":\"GetObject\",\"key\":\"manifest\",\"action\":\"error\","
                     "\"status\":403,\"code\":\"AccessDenied\",\"message\":\"A long story: ");
    memset(rules + n, 'y', long_len);
    snprintf(rules + n + long_len, 512, "\"}]");
    assert_int_equal(s3env_set_faults(&env, rules), 0);
    free(rules);
    run_s3(f, NULL, &res);
    /* The body is cut at 64 KiB, so the Message is unclosed: its first 507
     * bytes are kept, and "..." says there was more. */
    char cut[700] = "An error occurred (AccessDenied) when calling the GetObject operation: A long "
                    "story: ";
    size_t at = strlen(cut);
    memset(cut + at, 'y', 507 - strlen("A long story: "));
    strcpy(cut + at + 507 - strlen("A long story: "), "...");
    assert_s3_error(&res, "AccessDenied", cut, where);
    proc_result_free(&res);

    assert_int_equal(s3env_set_faults(&env, "[{\"op\":\"GetObject\",\"key\":\"manifest\","
                                            "\"action\":\"error\",\"status\":400,\"code\":"
                                            "\"Bad Code \\\"x\\\"\\n!\",\"message\":\"odd\"}]"),
                     0);
    run_s3(f, NULL, &res);
    assert_s3_error(&res, "BadCodex",
                    "An error occurred (BadCodex) when calling the GetObject operation: odd",
                    where);
    proc_result_free(&res);
    assert_int_equal(count_outputs(f->info.consignment_id), 0);
}

/* When every attempt fails, the last S3 error code is the errorType, the exit
 * status is 1, and nothing is written. */
static void test_every_attempt_fails(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 500, 2, false, 808);
    char *extra[] = {"AWS_MAX_ATTEMPTS=3", NULL};
    struct proc_result res;

    assert_int_equal(s3env_set_faults(&env, "[{\"op\":\"GetObject\",\"key\":\"manifest\\\\.json$\","
                                            "\"action\":\"slowdown\",\"count\":-1}]"),
                     0);
    run_s3(f, extra, &res);
    /* botocore notes the retries, before the colon, once the last attempt failed. */
    char where[2048];
    assert_s3_error(
        &res, "SlowDown",
        "An error occurred (SlowDown) when calling the GetObject operation (reached max "
        "retries: 2): Please reduce your request rate.",
        object_where(f, "GetObject", -1, where, sizeof where));
    proc_result_free(&res);
    assert_int_equal(count_requests("GetObject", "/manifest.json", 0), 3);

    assert_int_equal(s3env_reset_stats(&env), 0);
    assert_int_equal(s3env_set_faults(&env, "[{\"op\":\"GetObject\",\"key\":\"SUCCEEDED_1\","
                                            "\"action\":\"internal\",\"count\":-1}]"),
                     0);
    run_s3(f, extra, &res);
    assert_s3_error(&res, "InternalError",
                    "An error occurred (InternalError) when calling the GetObject operation "
                    "(reached max retries: 2): We encountered an internal error. Please try again.",
                    object_where(f, "GetObject", 1, where, sizeof where));
    proc_result_free(&res);
    assert_int_equal(count_requests("GetObject", "/SUCCEEDED_1.json", 0), 3);

    assert_int_equal(s3env_reset_stats(&env), 0);
    assert_int_equal(s3env_set_faults(&env, "[{\"op\":\"PutObject\",\"key\":\"/results\\\\.json$\","
                                            "\"action\":\"internal\",\"count\":-1}]"),
                     0);
    run_s3(f, extra, &res);
    assert_s3_error(&res, "InternalError",
                    "An error occurred (InternalError) when calling the PutObject operation "
                    "(reached max retries: 2): We encountered an internal error. Please try again.",
                    "PutObject s3://" BUCKET "/");
    proc_result_free(&res);
    assert_int_equal(count_requests("PutObject", "/results.json", 0), 3);

    assert_int_equal(count_outputs(f->info.consignment_id), 0);
    assert_int_equal(s3env_count_uploads(&env, f->info.consignment_id), 0);
    assert_clean_signatures();
}

/* S3's own errors reach the caller as errorType with botocore's wording, and
 * are not retried. */
static void test_s3_errors_pass_through(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 300, 3, false, 909);
    struct proc_result res;
    char event[4096];

    /* A missing manifest. */
    snprintf(event, sizeof event,
             "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET "\", "
             "\"Key\": \"%s/missing/manifest.json\"}}}",
             f->info.consignment_id);
    write_event(f, event);
    run_s3(f, NULL, &res);
    char where[2048];
    snprintf(where, sizeof where, "GetObject s3://" BUCKET "/%s/missing/manifest.json",
             f->info.consignment_id);
    assert_s3_error(&res, "NoSuchKey",
                    "An error occurred (NoSuchKey) when calling the GetObject operation: The "
                    "specified key does not exist.",
                    where);
    proc_result_free(&res);
    assert_int_equal(count_requests("GetObject", "/missing/manifest.json", 0), 1);

    /* A missing bucket. */
    snprintf(event, sizeof event,
             "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"bcr-no-such-bucket\", "
             "\"Key\": \"%s\"}}}",
             f->info.manifest_key);
    write_event(f, event);
    run_s3(f, NULL, &res);
    snprintf(where, sizeof where, "GetObject s3://bcr-no-such-bucket/%s", f->info.manifest_key);
    assert_s3_error(&res, "NoSuchBucket",
                    "An error occurred (NoSuchBucket) when calling the GetObject operation: The "
                    "specified bucket does not exist",
                    where);
    proc_result_free(&res);

    /* A result file the manifest lists but that is not there. */
    char manifest[2048], key[1200];
    snprintf(key, sizeof key, "%s/other/manifest.json", f->info.consignment_id);
    snprintf(manifest, sizeof manifest,
             "{\"DestinationBucket\": \"" BUCKET "\", \"ResultFiles\": {\"FAILED\": [], "
             "\"PENDING\": [], \"SUCCEEDED\": [{\"Key\": \"%s/other/SUCCEEDED_0.json\", "
             "\"Size\": 10}]}}",
             f->info.consignment_id);
    assert_int_equal(s3env_put(&env, BUCKET, key, manifest, strlen(manifest)), 0);
    snprintf(event, sizeof event,
             "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET "\", "
             "\"Key\": \"%s\"}}}",
             key);
    write_event(f, event);
    run_s3(f, NULL, &res);
    snprintf(where, sizeof where, "GetObject s3://" BUCKET "/%s/other/SUCCEEDED_0.json",
             f->info.consignment_id);
    assert_s3_error(&res, "NoSuchKey",
                    "An error occurred (NoSuchKey) when calling the GetObject operation: The "
                    "specified key does not exist.",
                    where);
    proc_result_free(&res);

    /* Access denied, reading and writing. */
    write_event(f, f->info.event);
    assert_int_equal(s3env_reset_stats(&env), 0);
    assert_int_equal(s3env_set_faults(&env, "[{\"key\":\"SUCCEEDED_1\\\\.json$\","
                                            "\"action\":\"deny\",\"count\":-1}]"),
                     0);
    run_s3(f, NULL, &res);
    assert_s3_error(&res, "AccessDenied",
                    "An error occurred (AccessDenied) when calling the GetObject operation: Access "
                    "Denied",
                    object_where(f, "GetObject", 1, where, sizeof where));
    proc_result_free(&res);
    assert_int_equal(count_requests("GetObject", "/SUCCEEDED_1.json", 0), 1);

    assert_int_equal(s3env_reset_stats(&env), 0);
    assert_int_equal(s3env_set_faults(&env, "[{\"op\":\"PutObject\",\"key\":\"/results\\\\.json$\","
                                            "\"action\":\"deny\",\"count\":-1}]"),
                     0);
    run_s3(f, NULL, &res);
    assert_s3_error(&res, "AccessDenied",
                    "An error occurred (AccessDenied) when calling the PutObject operation: Access "
                    "Denied",
                    "PutObject s3://" BUCKET "/");
    proc_result_free(&res);
    assert_int_equal(count_requests("PutObject", "/results.json", 0), 1);

    assert_int_equal(count_outputs(f->info.consignment_id), 0);
    assert_clean_signatures();
}

/* A port on the loopback that nothing listens on: bound, then closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A failure without a response reads as botocore's exception for it, quoting
 * the request's URL: nothing listening (EndpointConnectionError), a
 * connection closed before any response (ConnectionClosedError). Connection
 * errors are retried, and botocore notes no retries on them. */
static void test_connection_errors_worded_as_botocore(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 10, 1, false, 929);
    char endpoint[64], message[2048], where[2048];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", closed_port());
    char *argv[] = {(char *)proc_bin(), "--endpoint-url", endpoint, f->event_path, NULL};
    char *extra[] = {"AWS_MAX_ATTEMPTS=2", NULL};
    struct proc_result res;
    proc_run(argv, NULL, s3env_env(&env, extra), 60, &res);
    snprintf(message, sizeof message, "Could not connect to the endpoint URL: \"%s/" BUCKET "/%s\"",
             endpoint, f->info.manifest_key);
    assert_s3_error(&res, "IOError", message,
                    object_where(f, "GetObject", -1, where, sizeof where));
    proc_result_free(&res);

    assert_int_equal(s3env_set_faults(&env, "[{\"op\":\"GetObject\",\"key\":\"manifest\","
                                            "\"action\":\"reset\",\"count\":-1}]"),
                     0);
    run_s3(f, extra, &res);
    snprintf(message, sizeof message,
             "Connection was closed before we received a valid response from endpoint URL: "
             "\"%s/" BUCKET "/%s\".",
             env.endpoint, f->info.manifest_key);
    assert_s3_error(&res, "IOError", message, where);
    proc_result_free(&res);
    assert_int_equal(count_requests("GetObject", "/manifest.json", 0), 2);
    assert_int_equal(count_outputs(f->info.consignment_id), 0);
}

/* A 3,000-entry export (output about 3.6 MiB) written in 1 MiB parts while the
 * proxy applies `faults`; `attempts` is an extra "NAME=value" or NULL. */
static void run_multipart_with_faults(struct fx *f, uint32_t seed, const char *faults,
                                      const char *attempts, struct proc_result *res)
{
    make_export(f, 3000, 3, false, seed);
    assert_true(f->expected_len > 3 * MIB);
    assert_int_equal(s3env_configure(&env, NULL, 1 * MIB), 0);
    assert_int_equal(s3env_set_faults(&env, faults), 0);
    char *extra[] = {"BCR_S3_PART_SIZE=1048576", (char *)attempts, NULL};
    run_s3(f, extra, res);
}

/* A failure in the middle of a multipart upload leaves no upload behind and
 * no results.json; the error is botocore's for the failed operation. faults:
 * the rules; type, message: the expected errorType and message (exactly, or
 * its start for a message quoting a URL with an upload id); operation: the
 * failed S3 operation. */
static void assert_no_orphan(void **state, uint32_t seed, const char *faults, const char *type,
                             const char *message, bool exact, const char *operation)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    struct proc_result res;
    run_multipart_with_faults(f, seed, faults, "AWS_MAX_ATTEMPTS=2", &res);
    if (res.status != 1)
        show("expected a failure", &res);
    assert_int_equal(res.status, 1);
    assert_int_equal(res.out_len, 0);

    /* Nothing left behind, whatever the error says. */
    int left = s3env_count_uploads(&env, f->info.consignment_id);
    if (left != 0) {
        char *uploads = s3env_control(&env, "GET", "/__control/uploads", NULL);
        fprintf(stderr, "left behind after %s: %s\n", faults, uploads ? uploads : "?");
        free(uploads);
    }
    assert_int_equal(left, 0);
    assert_int_equal(count_outputs(f->info.consignment_id), 0);
    assert_int_equal(count_requests("CreateMultipartUpload", "/results.json", 0), 1);
    assert_true(count_requests("UploadPart", "/results.json", 0) >= 1);
    assert_true(count_requests("AbortMultipartUpload", "/results.json", 0) >= 1);
    assert_clean_signatures();

    {
        char where[2048];
        if (strcmp(operation, "GetObject") == 0)
            object_where(f, "GetObject", 2, where, sizeof where);
        else
            snprintf(where, sizeof where, "%s s3://" BUCKET "/%s/", operation,
                     f->info.consignment_id);
        assert_s3_error_at(&res, type, message, exact, where);
        /* A failed write is not a fault of the input. */
        if (strcmp(operation, "GetObject") != 0) {
            char line[4096];
            proc_last_line(res.err, line, sizeof line);
            if (strstr(line, "Output is not"))
                fprintf(stderr, "a write failure reported as invalid input: %s\n", line);
            assert_null(strstr(line, "Output is not"));
        }
    }
    proc_result_free(&res);
}

static void test_no_orphan_when_a_part_fails(void **state)
{
    assert_no_orphan(
        state, 1010, "[{\"op\":\"UploadPart\",\"nth\":2,\"action\":\"internal\",\"count\":-1}]",
        "InternalError",
        "An error occurred (InternalError) when calling the UploadPart operation "
        "(reached max retries: 1): We encountered an internal error. Please try again.",
        true, "UploadPart");
}

static void test_no_orphan_when_a_part_is_denied(void **state)
{
    assert_no_orphan(
        state, 1011, "[{\"op\":\"UploadPart\",\"nth\":2,\"action\":\"deny\",\"count\":-1}]",
        "AccessDenied",
        "An error occurred (AccessDenied) when calling the UploadPart operation: Access "
        "Denied",
        true, "UploadPart");
}

static void test_no_orphan_when_connections_reset(void **state)
{
    /* botocore's ConnectionClosedError, quoting the request's URL. */
    char reset_message[1024];
    snprintf(reset_message, sizeof reset_message,
             "Connection was closed before we received a valid response from endpoint URL: "
             "\"%s/" BUCKET "/",
             env.endpoint);
    assert_no_orphan(state, 1012,
                     "[{\"op\":\"UploadPart\",\"nth\":2,\"action\":\"reset\",\"count\":-1}]",
                     "IOError", reset_message, false, "UploadPart");
}

static void test_no_orphan_when_completion_fails(void **state)
{
    assert_no_orphan(state, 1013,
                     "[{\"op\":\"CompleteMultipartUpload\",\"action\":\"internal\",\"count\":-1}]",
                     "InternalError",
                     "An error occurred (InternalError) when calling the CompleteMultipartUpload "
                     "operation (reached max retries: 1): We encountered an internal error. Please "
                     "try again.",
                     true, "CompleteMultipartUpload");
}

/* Parts are up when a later result file cannot be read. */
static void test_no_orphan_when_a_later_read_fails(void **state)
{
    assert_no_orphan(
        state, 1014,
        "[{\"op\":\"GetObject\",\"key\":\"SUCCEEDED_2\\\\.json$\","
        "\"action\":\"deny\",\"count\":-1}]",
        "AccessDenied",
        "An error occurred (AccessDenied) when calling the GetObject operation: Access "
        "Denied",
        true, "GetObject");
}

/* The abort itself is retried. */
static void test_no_orphan_when_the_abort_is_throttled(void **state)
{
    assert_no_orphan(
        state, 1015,
        "[{\"op\":\"UploadPart\",\"nth\":2,\"action\":\"deny\",\"count\":-1},"
        "{\"op\":\"AbortMultipartUpload\",\"action\":\"slowdown\"}]",
        "AccessDenied",
        "An error occurred (AccessDenied) when calling the UploadPart operation: Access "
        "Denied",
        true, "UploadPart");
}

/* CompleteMultipartUpload succeeds upstream but its response is lost (the
 * connection resets): the retry finds NoSuchUpload, and a HeadObject showing
 * S3's multipart ETag for our part count and our length proves the object
 * ours. The run succeeds with the output whole. */
/* True once the proxy has stalled a request (a fault fired). */
static bool fault_fired(void *ctx)
{
    (void)ctx;
    return s3env_stat(&env, "faults_injected") >= 1;
}

/* SIGTERM while an UploadPart hangs: the transfer is cut short, the upload
 * aborted, nothing written; exit 143 with an Interrupted error. The same for
 * SIGINT while a GetObject hangs (exit 130). */
static void test_signal_aborts_transfers(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 3000, 3, false, 909);
    assert_int_equal(s3env_configure(&env, NULL, 1 * MIB), 0);
    char *extra[] = {"BCR_S3_PART_SIZE=1048576", NULL};
    char *argv[] = {(char *)proc_bin(), "--endpoint-url", env.endpoint, f->event_path, NULL};
    static const struct {
        int signo;
        const char *faults;
    } cases[] = {
        {SIGTERM, "[{\"op\":\"UploadPart\",\"nth\":2,\"action\":\"stall\",\"ms\":60000}]"},
        {SIGINT, "[{\"op\":\"GetObject\",\"key\":\"SUCCEEDED_1\",\"action\":\"stall\","
                 "\"after\":100000,\"ms\":60000}]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(s3env_reset_stats(&env), 0);
        assert_int_equal(s3env_set_faults(&env, cases[i].faults), 0);
        struct proc_signal sig = {cases[i].signo, fault_fired, NULL};
        struct proc_result res;
        proc_run_signal(argv, s3env_env(&env, extra), 60, &sig, &res);
        char line[4096];
        proc_last_line(res.err, line, sizeof line);
        if (res.status != 128 + cases[i].signo || !strstr(line, "\"Interrupted\""))
            show("expected an interrupted run", &res);
        assert_int_equal(res.status, 128 + cases[i].signo);
        assert_int_equal(res.out_len, 0);
        assert_non_null(strstr(line, "{\"errorType\": \"Interrupted\""));
        proc_result_free(&res);
        assert_int_equal(s3env_count_uploads(&env, f->info.consignment_id), 0);
        assert_int_equal(count_outputs(f->info.consignment_id), 0);
        if (cases[i].signo == SIGTERM) /* a part was in flight: the upload existed */
            assert_int_equal(count_requests("AbortMultipartUpload", "/results.json", 0), 1);
    }
    assert_clean_signatures();
}

static void test_completion_retried_after_it_succeeded(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    struct proc_result res;
    run_multipart_with_faults(f, 1016,
                              "[{\"op\":\"CompleteMultipartUpload\",\"action\":\"reset\","
                              "\"forward\":true}]",
                              NULL, &res);
    assert_ok("CompleteMultipartUpload response lost", &res);
    assert_output(f, &res, f->info.consignment_id);
    assert_non_null(strstr(res.err, "retried after it had succeeded"));
    proc_result_free(&res);
    assert_int_equal(count_requests("CompleteMultipartUpload", "/results.json", 0), 2);
    assert_int_equal(count_requests("HeadObject", "/results.json", 0), 1);
    assert_int_equal(count_outputs(f->info.consignment_id), 1);
    assert_int_equal(s3env_count_uploads(&env, f->info.consignment_id), 0);
    assert_clean_signatures();
}

/* CompleteMultipartUpload answered 200 with an empty body (before the object
 * was assembled) is not a success: it is retried, as botocore does, and the
 * object the reply names exists. */
static void test_completion_empty_200_is_retried(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    struct proc_result res;
    run_multipart_with_faults(f, 1018,
                              "[{\"op\":\"CompleteMultipartUpload\",\"action\":\"error\","
                              "\"status\":200,\"body\":\"\"}]",
                              NULL, &res);
    assert_ok("CompleteMultipartUpload answered 200 with no body", &res);
    assert_output(f, &res, f->info.consignment_id);
    proc_result_free(&res);
    assert_int_equal(count_requests("CompleteMultipartUpload", "/results.json", 0), 2);
    assert_int_equal(s3env_count_uploads(&env, f->info.consignment_id), 0);
    assert_int_equal(count_outputs(f->info.consignment_id), 1);
    assert_clean_signatures();
}

/* The same, but the object cannot be shown to be ours (HeadObject denied):
 * the NoSuchUpload stands, so the run fails rather than claim an output it
 * has not verified. */
static void test_completion_unverified_is_an_error(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    struct proc_result res;
    run_multipart_with_faults(f, 1017,
                              "[{\"op\":\"CompleteMultipartUpload\",\"action\":\"reset\","
                              "\"forward\":true},{\"op\":\"HeadObject\",\"action\":\"deny\"}]",
                              NULL, &res);
    assert_s3_error(&res, "NoSuchUpload",
                    "An error occurred (NoSuchUpload) when calling the CompleteMultipartUpload "
                    "operation: The specified upload does not exist. The upload ID may be "
                    "invalid, or the upload may have been aborted or completed.",
                    "CompleteMultipartUpload s3://" BUCKET "/");
    assert_non_null(strstr(res.err, "the object is not ours"));
    proc_result_free(&res);
    assert_int_equal(s3env_count_uploads(&env, f->info.consignment_id), 0);
    assert_clean_signatures();
}

/* Faults drawn at random (seeded, so the same ones every run) across every
 * kind of request; with enough attempts the run succeeds unchanged. */
static void test_random_faults(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 2500, 4, true, 1111);
    assert_int_equal(s3env_set_faults(&env, "[{\"action\":\"random\",\"seed\":20261121,"
                                            "\"rate\":0.25,\"count\":12}]"),
                     0);
    assert_int_equal(s3env_configure(&env, NULL, 1 * MIB), 0);
    char *extra[] = {"BCR_S3_PART_SIZE=1048576", "AWS_MAX_ATTEMPTS=8", NULL};
    struct proc_result res;
    run_s3(f, extra, &res);
    assert_ok("S3 with random faults", &res);
    assert_output(f, &res, f->info.consignment_id);
    proc_result_free(&res);
    assert_true(s3env_stat(&env, "faults_injected") >= 1);
    assert_int_equal(s3env_count_uploads(&env, f->info.consignment_id), 0);
    assert_int_equal(count_outputs(f->info.consignment_id), 1);
    assert_clean_signatures();
}

/* A body without Content-Length (the connection's close is its end) cut at a
 * line boundary of a JSON Lines result file is not taken for the whole file:
 * the response is refused and nothing is written. */
static void test_body_without_content_length(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 100, 1, true, 516);
    /* The result file: SUCCEEDED_0.json next to the manifest. */
    char key[1200], path[8400];
    snprintf(key, sizeof key, "%s", f->info.manifest_key);
    *strrchr(key, '/') = '\0';
    snprintf(path, sizeof path, "%s/%s/%s/SUCCEEDED_0.json", f->store, BUCKET, key);
    size_t len;
    char *text = files_read(path, &len);
    assert_non_null(text);
    size_t half = 0;
    for (int lines = 0; lines < 50; half++)
        lines += text[half] == '\n';
    free(text);
    char faults[512];
    snprintf(faults, sizeof faults,
             "[{\"op\":\"GetObject\",\"key\":\"SUCCEEDED_0\\\\.json$\",\"action\":\"cut\","
             "\"after\":%zu,\"length\":false}]",
             half);
    assert_int_equal(s3env_set_faults(&env, faults), 0);
    struct proc_result res;
    run_s3(f, NULL, &res);
    char where[1400];
    snprintf(where, sizeof where, "GetObject s3://%s/%s/SUCCEEDED_0.json", BUCKET, key);
    assert_s3_error(&res, "IOError",
                    "The response has no Content-Length, so a body cut short could not be told "
                    "from a whole one.",
                    where);
    proc_result_free(&res);
    assert_int_equal(s3env_stat(&env, "faults_injected"), 1);
    assert_int_equal(count_outputs(f->info.consignment_id), 0);
    assert_int_equal(s3env_count_uploads(&env, f->info.consignment_id), 0);
}

/* Runs the product against S3 under /bin/sh with the given redirections. */
static void run_s3_redirected(struct fx *f, const char *redirects, struct proc_result *res)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "exec \"$0\" --endpoint-url \"$1\" \"$2\" %s", redirects);
    char *argv[] = {"/bin/sh", "-c", cmd, (char *)proc_bin(), env.endpoint, f->event_path, NULL};
    proc_run(argv, NULL, s3env_env(&env, NULL), 120, res);
}

/* stdout closed at start: refused before anything is read or written (the
 * reply would be lost, or worse, written into a descriptor libcurl took). */
static void test_closed_stdout(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 200, 1, false, 517);
    s3env_reset_stats(&env);
    struct proc_result res;
    run_s3_redirected(f, ">&-", &res);
    assert_error_starts(&res, "IOError", "stdout is closed");
    proc_result_free(&res);
    assert_int_equal(s3env_stat(&env, "requests"), 0);
    assert_int_equal(count_outputs(f->info.consignment_id), 0);
}

/* A reply that cannot be printed after results.json was written (stdout on a
 * full disk): exit 0, the key logged, one results.json. */
static void test_reply_lost_after_commit(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 200, 1, false, 518);
    struct proc_result res;
    run_s3_redirected(f, ">/dev/full", &res);
    if (res.status != 0)
        show("stdout on /dev/full", &res);
    assert_int_equal(res.status, 0);
    const char *lost =
        strstr(res.err, "results.json was written but the reply could not be printed");
    assert_non_null(lost);
    assert_non_null(strstr(lost, f->info.consignment_id));
    proc_result_free(&res);
    assert_int_equal(count_outputs(f->info.consignment_id), 1);
}

/* Across the whole suite, the proxy never saw a wrongly signed request. */
/* --manifest s3://BUCKET/KEY --output -: the same bytes as the upload would
 * hold, on stdout, and nothing written to the bucket. */
static void test_manifest_to_stdout(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 2000, 2, false, 41);
    s3env_reset_stats(&env);
    char manifest[1200];
    snprintf(manifest, sizeof manifest, "s3://%s/%s", BUCKET, f->info.manifest_key);
    char *argv[] = {(char *)proc_bin(), "--endpoint-url", env.endpoint, "--manifest",
                    manifest,           "--output",       "-",          NULL};
    struct proc_result res;
    proc_run(argv, NULL, s3env_env(&env, NULL), 120, &res);
    assert_ok("--manifest --output -", &res);
    assert_int_equal(res.out_len, f->expected_len);
    assert_memory_equal(res.out, f->expected, res.out_len);
    assert_int_equal(count_outputs(f->info.consignment_id), 0);
    assert_int_equal(count_requests("PutObject", NULL, 0), 0);
    assert_int_equal(count_requests("CreateMultipartUpload", NULL, 0), 0);
    proc_result_free(&res);
}

/* BCR_EXPECTED_BUCKET_OWNER: requests carry it, signed; a bucket owned by
 * another account is refused and nothing is written. */
static void test_expected_bucket_owner(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 200, 1, false, 42);
    char *set =
        s3env_control(&env, "POST", "/__control/owners", "{\"" BUCKET "\": \"111122223333\"}");
    assert_non_null(set);
    free(set);
    char *mine[] = {"BCR_EXPECTED_BUCKET_OWNER=111122223333", NULL};
    struct proc_result res;
    run_s3(f, mine, &res);
    assert_ok("owner as expected", &res);
    assert_output(f, &res, f->info.consignment_id);
    proc_result_free(&res);
    assert_int_equal(s3env_stat(&env, "owner_mismatches"), 0);

    char *other[] = {"BCR_EXPECTED_BUCKET_OWNER=999988887777", NULL};
    run_s3(f, other, &res);
    char where[2048];
    assert_s3_error(&res, "AccessDenied",
                    "An error occurred (AccessDenied) when calling the GetObject operation: Access "
                    "Denied",
                    object_where(f, "GetObject", -1, where, sizeof where));
    proc_result_free(&res);
    assert_true(s3env_stat(&env, "owner_mismatches") > 0);
    assert_int_equal(count_outputs(f->info.consignment_id), 1);
    free(s3env_control(&env, "POST", "/__control/owners", "{}"));
}

static void test_zero_signature_failures_in_suite(void **state)
{
    (void)state;
    REQUIRE_SERVER();
    long failures = s3env_stat(&env, "totals.signature_failures");
    assert_int_equal(failures, 0);
    assert_true(s3env_stat(&env, "totals.requests") > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_output_as_directory_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_with_empty_first_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_after_cut_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_object_replaced_during_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_without_content_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_stdout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_lost_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_after_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stalled_transfers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dripping_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_text_in_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_attempt_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_s3_errors_pass_through, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_errors_worded_as_botocore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_orphan_when_a_part_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_orphan_when_a_part_is_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_orphan_when_connections_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_orphan_when_completion_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_orphan_when_a_later_read_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_orphan_when_the_abort_is_throttled, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_completion_retried_after_it_succeeded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_completion_unverified_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_completion_empty_200_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signal_aborts_transfers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_to_stdout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expected_bucket_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_signature_failures_in_suite, setup, teardown),
    };
    return cmocka_run_group_tests_name("s3", tests, group_setup, group_teardown);
}
