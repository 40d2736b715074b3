/* The Lambda package (build/function.zip, from `make package`) as Lambda runs
 * it: through @vercel/fun, an independent implementation of the Runtime API
 * (tests/lambda/invoke.js), against s3rver behind the SigV4-checking proxy
 * (tests/support/s3env.h). Cold then warm invocations in one process with bad
 * events in between, the same results.json as the command line, init errors,
 * the deadline (a Timeout error, the multipart upload aborted), a bare root
 * holding nothing but the package, and nothing leaking from one invocation
 * into the next (valgrind). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"
#include "proc.h"
#include "files.h"
#include "gen.h"
#include "s3env.h"
#include "version.h"

#define FUNCTION_NAME "tdr-backend-checks-results-test"
#define KIB 1024L
#define MIB (1024L * 1024L)

static struct s3env env;
static bool server_up;
static char *unpack_root;            /* ROOT: holds only var/task, the unpacked zip */
static char package_zip[4096];       /* build/function.zip */
static char package_dir[4200];       /* ROOT/var/task */
static char driver[4096];            /* tests/lambda/invoke.js */
static char strict_driver[4096];     /* tests/lambda/strict.js */
static char node[4096], unzip[4096]; /* found on PATH (proc_run takes paths) */

/* ---------------------------------------------------------------- set-up */

/* The program `name` on PATH, into out; false if there is none. */
static bool find_program(const char *name, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        snprintf(out, cap, "%.*s/%s", (int)n, n ? p : ".", name);
        if (access(out, X_OK) == 0)
            return true;
        p += n + (end ? 1 : 0);
    }
    return false;
}

static bool fun_available(void)
{
    if (!find_program("node", node, sizeof node))
        return false;
    char *argv[] = {node, "-e", "require('@vercel/fun')", NULL};
    struct proc_result res;
    proc_run(argv, NULL, NULL, 60, &res);
    bool ok = res.status == 0;
    if (!ok)
        fprintf(stderr,
                "test_lambda: SKIPPING: the Lambda emulator @vercel/fun does not load (run "
                "scripts/install-deps.sh): %s\n",
                res.err);
    proc_result_free(&res);
    return ok;
}

/* Beside the built program: BIN's directory holds function.zip. */
static void build_path(const char *name, char *out, size_t cap)
{
    const char *bin = proc_bin();
    const char *slash = strrchr(bin, '/');
    snprintf(out, cap, "%.*s/%s", slash ? (int)(slash - bin) : 1, slash ? bin : ".", name);
}

static int group_setup(void **state)
{
    (void)state;
    s3env_isolate_environment();
    if (!s3env_node_available() || !fun_available())
        return 0;

    snprintf(driver, sizeof driver, "tests/lambda/invoke.js");
    if (access(driver, R_OK) != 0)
        build_path("../tests/lambda/invoke.js", driver, sizeof driver);
    snprintf(strict_driver, sizeof strict_driver, "tests/lambda/strict.js");
    if (access(strict_driver, R_OK) != 0)
        build_path("../tests/lambda/strict.js", strict_driver, sizeof strict_driver);
    build_path("function.zip", package_zip, sizeof package_zip);
    if (access(package_zip, R_OK) != 0) {
        fprintf(stderr, "test_lambda: %s is missing: run `make package` first\n", package_zip);
        return -1;
    }
    unpack_root = files_tmpdir();
    snprintf(package_dir, sizeof package_dir, "%s/var", unpack_root);
    mkdir(package_dir, 0755);
    snprintf(package_dir, sizeof package_dir, "%s/var/task", unpack_root);
    if (!find_program("unzip", unzip, sizeof unzip)) {
        fprintf(stderr, "test_lambda: unzip is not installed (scripts/install-deps.sh)\n");
        return -1;
    }
    char *argv[] = {unzip, "-q", package_zip, "-d", package_dir, NULL};
    struct proc_result res;
    proc_run(argv, NULL, NULL, 60, &res);
    int status = res.status;
    if (status != 0)
        fprintf(stderr, "test_lambda: unzip %s failed: %s\n", package_zip, res.err);
    proc_result_free(&res);
    if (status != 0 || s3env_start(&env, NULL) != 0)
        return -1;
    server_up = true;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    s3env_stop(&env);
    if (unpack_root) {
        files_rmtree(unpack_root);
        free(unpack_root);
    }
    return 0;
}

struct fx {
    char *root;
    char store[4200];
    char expected_path[4200];
    struct gen_export_info info;
    struct proc_result res; /* the driver's run */
    json_t *results;        /* its "results" (borrowed from doc) */
    json_t *doc;
    json_t *logs; /* every JSON line the function wrote */
    json_t *plan;
};

static int setup(void **state)
{
    struct fx *f = mem_check(calloc(1, sizeof *f));
    f->root = files_tmpdir();
    snprintf(f->store, sizeof f->store, "%s/store", f->root);
    snprintf(f->expected_path, sizeof f->expected_path, "%s/expected.jsonl", f->root);
    *state = f;
    if (server_up && (s3env_clear_faults(&env) || s3env_configure(&env, NULL, 5 * MIB) ||
                      s3env_reset_stats(&env)))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    proc_result_free(&f->res);
    json_decref(f->doc);
    json_decref(f->logs);
    json_decref(f->plan);
    files_rmtree(f->root);
    free(f->root);
    free(f);
    return 0;
}

#define REQUIRE_SERVER()                                                                           \
    do {                                                                                           \
        if (!server_up)                                                                            \
            skip();                                                                                \
    } while (0)

/* ---------------------------------------------------------------- plans and runs */

/* An export of `entries` entries in `files` result files, uploaded to s3rver. */
static void make_export(struct fx *f, uint64_t entries, int files, uint32_t seed)
{
    struct gen_export_spec spec = {NULL, entries, files, false, seed};
    gen_export(f->store, &spec, f->expected_path, &f->info);
    assert_true(s3env_upload_tree(&env, f->store) > 0);
}

/* A plan for invoke.js running `code`, with S3 at the proxy. */
static void plan_new(struct fx *f, json_t *code, int timeout_s)
{
    f->plan = json_pack("{s:o, s:s, s:s, s:s, s:s, s:i, s:i, s:{s:s}, s:[]}", "code", code, "name",
                        FUNCTION_NAME, "region", env.region, "accessKeyId", env.access_key,
                        "secretAccessKey", env.secret_key, "timeout", timeout_s, "memory", 512,
                        "env", "AWS_ENDPOINT_URL_S3", env.endpoint, "invocations");
    assert_non_null(f->plan);
}

static void plan_env(struct fx *f, const char *name, const char *value)
{
    json_object_set_new(json_object_get(f->plan, "env"), name, json_string(value));
}

static void plan_invoke(struct fx *f, const char *payload)
{
    json_array_append_new(json_object_get(f->plan, "invocations"),
                          json_pack("{s:s}", "payload", payload));
}

/* Before the last invocation added: remove the proxy's fault rules. */
static void plan_clear_faults_before(struct fx *f)
{
    char url[128];
    snprintf(url, sizeof url, "%s/__control/faults", env.endpoint);
    json_t *list = json_object_get(f->plan, "invocations");
    json_t *inv = json_array_get(list, json_array_size(list) - 1);
    json_object_set_new(inv, "before", json_pack("[{s:s, s:s}]", "method", "DELETE", "url", url));
}

static json_t *code_zip(void)
{
    return json_pack("{s:s}", "zip", package_zip);
}

/* A bootstrap script that unsets / sets variables, then execs argv. */
static json_t *code_command(const char *const argv[], const char *const set[],
                            const char *const unset[])
{
    json_t *cmd = json_array(), *s = json_object(), *u = json_array();
    for (int i = 0; argv[i]; i++)
        json_array_append_new(cmd, json_string(argv[i]));
    for (int i = 0; set && set[i]; i += 2)
        json_object_set_new(s, set[i], json_string(set[i + 1]));
    for (int i = 0; unset && unset[i]; i++)
        json_array_append_new(u, json_string(unset[i]));
    return json_pack("{s:o, s:o, s:o}", "command", cmd, "set", s, "unset", u);
}

static void show(const struct fx *f)
{
    fprintf(stderr, "driver: exit %d\n--- stdout\n%s--- stderr (last 6000 bytes)\n%s\n",
            f->res.status, f->res.out,
            f->res.err_len > 6000 ? f->res.err + f->res.err_len - 6000 : f->res.err);
}

/* Runs the plan through an emulator (invoke.js or strict.js); collects the
 * results and the function's JSON log lines. */
static void run_plan_with(struct fx *f, char *driver_path)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/plan.json", f->root);
    assert_int_equal(json_dump_file(f->plan, path, JSON_COMPACT), 0);
    char *argv[] = {node, driver_path, path, NULL};
    proc_run(argv, NULL, NULL, 180, &f->res);
    if (f->res.status != 0)
        show(f);
    assert_int_equal(f->res.status, 0);
    const char *doc = strstr(f->res.out, "{\"results\":");
    assert_non_null(doc);
    f->doc = json_loads(doc, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(f->doc);
    f->results = json_object_get(f->doc, "results");
    assert_int_equal(json_array_size(f->results),
                     json_array_size(json_object_get(f->plan, "invocations")));

    f->logs = json_array();
    for (char *line = f->res.err; line && *line;) {
        char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (n && line[0] == '{') {
            json_t *v = json_loadb(line, n, 0, NULL);
            if (v)
                json_array_append_new(f->logs, v);
        }
        line = end ? end + 1 : NULL;
    }
}

static void run_plan(struct fx *f)
{
    run_plan_with(f, driver);
}

static json_t *result(struct fx *f, size_t i)
{
    return json_array_get(f->results, i);
}

static const char *str(json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

/* Invocation i succeeded; returns its reply (caller decrefs). */
static json_t *reply_of(struct fx *f, size_t i)
{
    json_t *r = result(f, i);
    if (!json_is_null(json_object_get(r, "functionError"))) {
        show(f);
        fail_msg("invocation %zu failed: %s", i, str(r, "payload"));
    }
    json_t *reply = json_loads(str(r, "payload"), 0, NULL);
    assert_non_null(reply);
    assert_int_equal(json_object_size(reply), 2);
    assert_non_null(str(reply, "key"));
    assert_non_null(str(reply, "bucket"));
    return reply;
}

/* Invocation i posted an error of this type, in the Runtime API's shape. */
static void assert_function_error(struct fx *f, size_t i, const char *kind, const char *type)
{
    json_t *r = result(f, i);
    if (!json_is_string(json_object_get(r, "functionError")) ||
        strcmp(str(r, "functionError"), kind) != 0) {
        show(f);
        fail_msg("invocation %zu: expected a %s %s error, got %s", i, kind, type,
                 str(r, "payload"));
    }
    json_t *doc = json_loads(str(r, "payload"), 0, NULL);
    assert_non_null(doc);
    assert_string_equal(str(doc, "errorType"), type);
    assert_true(strlen(str(doc, "errorMessage")) > 0);
    json_t *trace = json_object_get(doc, "stackTrace");
    assert_true(json_is_array(trace));
    assert_true(json_array_size(trace) <= 1);
    assert_true(json_array_size(trace) == 0 || json_is_string(json_array_get(trace, 0)));
    assert_int_equal(json_object_size(doc), 3);
    json_decref(doc);
}

/* Invocation i's error: exactly this message, and the stack trace holding
 * where it happened (where NULL: an empty stack trace), as the ERROR log line
 * "invocation failed" says too. */
static void assert_error_at(struct fx *f, size_t i, const char *message, const char *where)
{
    json_t *doc = json_loads(str(result(f, i), "payload"), 0, NULL);
    assert_non_null(doc);
    assert_string_equal(str(doc, "errorMessage"), message);
    json_t *trace = json_object_get(doc, "stackTrace");
    assert_int_equal(json_array_size(trace), where ? 1 : 0);
    if (where)
        assert_string_equal(json_string_value(json_array_get(trace, 0)), where);
    json_decref(doc);
}

static const char *error_message(struct fx *f, size_t i, char *out, size_t cap)
{
    json_t *doc = json_loads(str(result(f, i), "payload"), 0, NULL);
    snprintf(out, cap, "%s", doc ? str(doc, "errorMessage") : "");
    json_decref(doc);
    return out;
}

/* The function's log lines whose message is `message`, in order. */
static size_t find_logs(struct fx *f, const char *message, json_t **out, size_t cap)
{
    size_t n = 0, i;
    json_t *v;
    json_array_foreach(f->logs, i, v)
    {
        const char *m = str(v, "message");
        if (m && strcmp(m, message) == 0 && n < cap)
            out[n++] = v;
    }
    return n;
}

static size_t find_emf(struct fx *f, json_t **out, size_t cap)
{
    size_t n = 0, i;
    json_t *v;
    json_array_foreach(f->logs, i, v)
    {
        if (json_object_get(v, "_aws") && n < cap)
            out[n++] = v;
    }
    return n;
}

/* results.json as written by the command line for the same event. */
static char *cli_results(struct fx *f, size_t *len)
{
    char *argv[] = {(char *)proc_bin(), "--endpoint-url", env.endpoint, "-", NULL};
    struct proc_result res;
    proc_run(argv, f->info.event, s3env_env(&env, NULL), 120, &res);
    if (res.status != 0)
        fprintf(stderr, "cli: %s\n", res.err);
    assert_int_equal(res.status, 0);
    json_t *reply = json_loads(res.out, 0, NULL);
    assert_non_null(reply);
    char *text = s3env_get(&env, str(reply, "bucket"), str(reply, "key"), len);
    assert_non_null(text);
    json_decref(reply);
    proc_result_free(&res);
    return text;
}

/* The results array written for invocation i equals the export's outputs. */
static void assert_expected_results(struct fx *f, size_t i)
{
    json_t *reply = reply_of(f, i);
    char *text = s3env_get(&env, str(reply, "bucket"), str(reply, "key"), NULL);
    assert_non_null(text);
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    json_t *results = json_object_get(doc, "results");
    size_t len;
    char *expected = files_read(f->expected_path, &len);
    assert_non_null(expected);
    size_t k = 0;
    for (char *line = expected; *line; k++) {
        char *end = strchr(line, '\n');
        json_t *want = json_loadb(line, (size_t)(end - line), 0, NULL);
        assert_non_null(want);
        assert_true(json_equal(json_array_get(results, k), want));
        json_decref(want);
        line = end + 1;
    }
    assert_int_equal(json_array_size(results), k);
    free(expected);
    json_decref(doc);
    free(text);
    json_decref(reply);
}

/* Keys ending in "/results.json" under the export's consignment. */
static int count_results_objects(struct fx *f)
{
    char **keys;
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s/", f->info.consignment_id);
    int n = s3env_list(&env, "tdr-backend-checks-intg", prefix, &keys);
    assert_true(n >= 0);
    int found = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(keys[i]);
        if (len > 13 && strcmp(keys[i] + len - 13, "/results.json") == 0)
            found++;
    }
    s3env_free_keys(keys);
    return found;
}

static double median_ms(struct fx *f, const size_t *which, size_t n)
{
    double v[16];
    for (size_t i = 0; i < n; i++)
        v[i] = json_number_value(json_object_get(result(f, which[i]), "ms"));
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

/* ---------------------------------------------------------------- tests */

/* One process serves every invocation (cold, then warm), bad events in
 * between are function errors after which the next invocation works, and each
 * success writes what the command line writes. */
static void test_cold_then_warm_in_one_process(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 300, 3, 11);
    char missing[4096];
    snprintf(missing, sizeof missing,
             "{\"results\":{\"ResultWriterDetails\":{\"Bucket\":\"tdr-backend-checks-intg\","
             "\"Key\":\"%s/nothing-here/manifest.json\"}}}",
             f->info.consignment_id);
    size_t big_len = 6 * MIB + 100;
    char *big = mem_check(malloc(big_len + 1));
    memset(big, ' ', big_len);
    memcpy(big, "{\"pad\": \"", 9);
    memcpy(big + big_len - 2, "\"}", 2);
    big[big_len] = '\0';

    plan_new(f, code_zip(), 30);
    plan_env(f, "AWS_LAMBDA_LOG_FORMAT", "JSON");
    json_object_set_new(f->plan, "probePort", json_integer(env.proxy_port));
    plan_invoke(f, f->info.event);       /* 0 cold */
    plan_invoke(f, "{\"results\": 5");   /* 1 not JSON */
    plan_invoke(f, f->info.event);       /* 2 */
    plan_invoke(f, missing);             /* 3 NoSuchKey */
    plan_invoke(f, big);                 /* 4 over Lambda's 6 MB */
    plan_invoke(f, "{\"results\": {}}"); /* 5 JSON, not an event */
    plan_invoke(f, f->info.event);       /* 6 */
    plan_invoke(f, f->info.event);       /* 7 */
    free(big);
    run_plan(f);

    char message[2048];
    assert_function_error(f, 1, "Handled", "InvalidEvent");
    assert_error_at(f, 1, error_message(f, 1, message, sizeof message), NULL);
    assert_function_error(f, 3, "Handled", "NoSuchKey");
    char where[2048];
    snprintf(where, sizeof where,
             "GetObject s3://tdr-backend-checks-intg/%s/nothing-here/manifest.json",
             f->info.consignment_id);
    assert_error_at(f, 3,
                    "An error occurred (NoSuchKey) when calling the GetObject operation: The "
                    "specified key does not exist.",
                    where);
    json_t *failed[4];
    assert_int_equal(find_logs(f, "invocation failed", failed, 4), 4);
    assert_string_equal(str(failed[0], "where"), "");
    assert_string_equal(str(failed[1], "errorType"), "NoSuchKey");
    assert_string_equal(str(failed[1], "where"), where);
    assert_function_error(f, 4, "Handled", "InvalidEvent");
    assert_non_null(strstr(error_message(f, 4, message, sizeof message), "larger than"));
    assert_function_error(f, 5, "Handled", "InvalidEvent");

    /* Every success wrote a fresh results.json, byte for byte the CLI's. */
    size_t cli_len;
    char *cli = cli_results(f, &cli_len);
    const size_t ok[] = {0, 2, 6, 7};
    char keys[4][1300];
    for (size_t k = 0; k < 4; k++) {
        json_t *reply = reply_of(f, ok[k]);
        assert_string_equal(str(reply, "bucket"), "tdr-backend-checks-intg");
        snprintf(keys[k], sizeof keys[k], "%s", str(reply, "key"));
        for (size_t j = 0; j < k; j++)
            assert_string_not_equal(keys[j], keys[k]);
        size_t len;
        char *text = s3env_get(&env, "tdr-backend-checks-intg", keys[k], &len);
        assert_non_null(text);
        assert_int_equal(len, cli_len);
        assert_memory_equal(text, cli, len);
        free(text);
        json_decref(reply);
    }
    free(cli);
    assert_expected_results(f, 0);

    /* The S3 connections opened by the cold invocation are the ones the last
     * invocation used: kept open across invocations and freezes. */
    json_t *first = json_object_get(result(f, 0), "sockets");
    json_t *last = json_object_get(result(f, 7), "sockets");
    if (json_array_size(first) == 0 || !json_equal(first, last)) {
        show(f);
        char *a = mem_check(json_dumps(first, 0)), *b = mem_check(json_dumps(last, 0));
        fail_msg("S3 connections (local ports) after the cold invocation %s, after the last %s", a,
                 b);
    }
    assert_int_equal(s3env_count_uploads(&env, NULL), 0);

    /* One process: one init, invocations counted 1..8 under its pid. */
    json_t *ready[4], *started[16], *emf[16];
    assert_int_equal(find_logs(f, "lambda runtime ready", ready, 4), 1);
    json_int_t pid = json_integer_value(json_object_get(ready[0], "pid"));
    assert_true(pid > 0);
    assert_null(json_object_get(ready[0], "requestId"));
    size_t n = json_array_size(f->results);
    assert_int_equal(find_logs(f, "invocation started", started, 16), n);
    assert_int_equal(find_emf(f, emf, 16), n);
    for (size_t i = 0; i < n; i++) {
        /* Numbers are JSON numbers. */
        assert_true(json_is_integer(json_object_get(started[i], "invocation")));
        assert_int_equal(json_integer_value(json_object_get(started[i], "invocation")), i + 1);
        assert_int_equal(json_integer_value(json_object_get(started[i], "pid")), pid);
        assert_true(json_is_integer(json_object_get(started[i], "remaining_ms")));
        const char *id = str(started[i], "requestId");
        assert_non_null(id);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(str(started[j], "requestId"), id);
        /* _X_AMZN_TRACE_ID is the invocation's Lambda-Runtime-Trace-Id. */
        assert_string_equal(str(started[i], "traceId"), str(result(f, i), "traceId"));

        /* The EMF summary: metrics declared, values, request id and outcome. */
        json_t *m = emf[i];
        assert_string_equal(str(m, "requestId"), id);
        assert_string_equal(str(m, "FunctionName"), FUNCTION_NAME);
        json_t *cw =
            json_array_get(json_object_get(json_object_get(m, "_aws"), "CloudWatchMetrics"), 0);
        assert_string_equal(str(cw, "Namespace"), "TDR/BackendChecksResults");
        assert_int_equal(json_array_size(json_object_get(cw, "Metrics")), 7);
        assert_true(json_is_integer(json_object_get(json_object_get(m, "_aws"), "Timestamp")));
        bool good = json_is_null(json_object_get(result(f, i), "functionError"));
        assert_int_equal(json_integer_value(json_object_get(m, "Entries")), good ? 300 : 0);
        assert_int_equal(json_integer_value(json_object_get(m, "ResultFiles")), good ? 3 : 0);
        assert_int_equal(json_integer_value(json_object_get(m, "FailedResultFiles")), 0);
        assert_int_equal(json_integer_value(json_object_get(m, "PendingResultFiles")), 0);
        if (good) {
            assert_true(json_integer_value(json_object_get(m, "BytesRead")) > 300 * 1000);
            assert_int_equal(json_integer_value(json_object_get(m, "BytesWritten")), cli_len);
            assert_null(json_object_get(m, "errorType"));
        } else {
            assert_int_equal(json_integer_value(json_object_get(m, "BytesWritten")), 0);
            assert_non_null(str(m, "errorType"));
        }
        assert_true(json_is_integer(json_object_get(m, "Duration")));
    }

    /* AWS_LAMBDA_LOG_FORMAT=JSON: every line the function wrote is one JSON
     * object, and every line after init carries the request id. */
    size_t objects = 0;
    for (char *line = f->res.err; *line;) {
        char *end = strchr(line, '\n');
        assert_non_null(end);
        json_t *v = json_loadb(line, (size_t)(end - line), 0, NULL);
        if (!v)
            fail_msg("not a JSON log line: %.*s", (int)(end - line), line);
        assert_true(json_is_object(v));
        if (objects++ > 0)
            assert_non_null(str(v, "requestId"));
        json_decref(v);
        line = end + 1;
    }

    const size_t warm[] = {2, 6, 7};
    printf("lambda: cold invocation (process start + init + step) %.1f ms, warm %.1f ms "
           "(median of 3), 300 entries in 3 result files; %zu S3 connection(s) kept open\n",
           json_number_value(json_object_get(result(f, 0), "ms")), median_ms(f, warm, 3),
           json_array_size(first));
}

/* No credentials: the init error goes to /runtime/init/error, and the
 * emulator reports it for every invocation (each one a new process). */
static void test_init_error_no_credentials(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    plan_new(f, code_zip(), 30);
    json_object_del(f->plan, "accessKeyId");
    json_object_del(f->plan, "secretAccessKey");
    plan_env(f, "AWS_LAMBDA_LOG_FORMAT", "JSON");
    plan_invoke(f, "{}");
    plan_invoke(f, "{}");
    run_plan(f);
    assert_function_error(f, 0, "Unhandled", "ConfigurationError");
    assert_function_error(f, 1, "Unhandled", "ConfigurationError");
    char message[2048];
    assert_non_null(strstr(error_message(f, 0, message, sizeof message), "credentials"));
    json_t *lines[4];
    assert_int_equal(find_logs(f, "initialisation failed", lines, 4), 2);
    assert_string_equal(str(lines[0], "level"), "FATAL");
    assert_int_equal(find_logs(f, "lambda runtime ready", lines, 4), 0);
}

/* Runs one invocation of the plan made so far and checks that init failed
 * with a ConfigurationError whose message names `what`. */
static void expect_init_error(struct fx *f, const char *what)
{
    plan_invoke(f, "{}");
    run_plan(f);
    assert_function_error(f, 0, "Unhandled", "ConfigurationError");
    char message[2048];
    assert_non_null(strstr(error_message(f, 0, message, sizeof message), what));
}

/* No region (the package's own bootstrap, with the region variables unset). */
static void test_init_error_no_region(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    char bootstrap[4300];
    snprintf(bootstrap, sizeof bootstrap, "%s/bootstrap", package_dir);
    const char *argv[] = {bootstrap, NULL};
    const char *unset[] = {"AWS_REGION", "AWS_DEFAULT_REGION", NULL};
    plan_new(f, code_command(argv, NULL, unset), 30);
    expect_init_error(f, "region");
}

/* A bad BCR_TRANSFORMATION is a configuration error found at init. */
static void test_init_error_bad_transformation(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    plan_new(f, code_zip(), 30);
    plan_env(f, "BCR_TRANSFORMATION", "SIDEWAYS");
    expect_init_error(f, "BCR_TRANSFORMATION");
}

/* BCR_REQUIRE_COMPLETE takes true or false; anything else is found at init. */
static void test_init_error_bad_require_complete(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    plan_new(f, code_zip(), 30);
    plan_env(f, "BCR_REQUIRE_COMPLETE", "yes");
    expect_init_error(f, "BCR_REQUIRE_COMPLETE");
}

/* A result file that trickles in (every GET sends 4 KB, then stalls and is
 * cut; the store resumes it): the step stops itself when LAMBDA_STOP_MARGIN_MS
 * is left, aborts the multipart upload, posts a Timeout error before the
 * deadline, and the next invocation works. */
static void test_deadline_stops_a_slow_step(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 400, 4, 15);
    assert_int_equal(s3env_configure(&env, NULL, 1 * KIB), 0);
    assert_int_equal(s3env_set_faults(&env, "[{\"op\": \"GetObject\", \"key\": "
                                            "\"SUCCEEDED_3\\\\.json$\", \"action\": \"stall\", "
                                            "\"after\": 4096, \"ms\": 200, \"count\": -1}]"),
                     0);
    plan_new(f, code_zip(), 5);
    plan_env(f, "AWS_LAMBDA_LOG_FORMAT", "JSON");
    plan_env(f, "BCR_S3_PART_SIZE", "65536");
    plan_invoke(f, f->info.event);
    plan_invoke(f, f->info.event);
    plan_clear_faults_before(f);
    run_plan(f);

    assert_function_error(f, 0, "Handled", "Timeout");
    char message[2048];
    assert_non_null(
        strstr(error_message(f, 0, message, sizeof message), "before its Lambda deadline"));
    double ms = json_number_value(json_object_get(result(f, 0), "ms"));
    assert_true(ms < 5000 - 1000); /* stopped with the margin left */
    assert_true(ms > 5000 - 2500);
    assert_true(s3env_stat(&env, "by_op.UploadPart") > 0);
    if (s3env_stat(&env, "by_op.AbortMultipartUpload") < 1 || s3env_count_uploads(&env, NULL)) {
        show(f);
        fail_msg("the timed-out invocation left its multipart upload behind");
    }
    assert_expected_results(f, 1);
    assert_int_equal(count_results_objects(f), 1);
    printf("lambda: slow step stopped, Timeout posted %.0f ms into a 5000 ms invocation\n", ms);
}

/* A GET that never answers: the S3 store cuts it at its deadline (half the
 * margin before Lambda's), the multipart upload is still aborted, a Timeout
 * error is posted before Lambda would kill the process, and the next
 * invocation works. */
static void test_deadline_cuts_a_stalled_request(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 400, 4, 12);
    assert_int_equal(s3env_configure(&env, NULL, 1 * KIB), 0);
    /* The last result file's first GET never answers. */
    assert_int_equal(s3env_set_faults(&env, "[{\"op\": \"GetObject\", \"key\": "
                                            "\"SUCCEEDED_3\\\\.json$\", \"action\": \"stall\", "
                                            "\"count\": 1}]"),
                     0);
    plan_new(f, code_zip(), 4);
    plan_env(f, "AWS_LAMBDA_LOG_FORMAT", "JSON");
    plan_env(f, "BCR_S3_PART_SIZE", "65536");
    plan_invoke(f, f->info.event);
    plan_invoke(f, f->info.event);
    plan_clear_faults_before(f);
    run_plan(f);

    assert_function_error(f, 0, "Handled", "Timeout");
    char where[2048], message[2048];
    snprintf(where, sizeof where, "GetObject s3://tdr-backend-checks-intg/%.*s/SUCCEEDED_3.json",
             (int)(strrchr(f->info.manifest_key, '/') - f->info.manifest_key),
             f->info.manifest_key);
    assert_error_at(f, 0, error_message(f, 0, message, sizeof message), where);
    assert_string_equal(message, "The GetObject operation did not complete before the deadline.");
    double ms = json_number_value(json_object_get(result(f, 0), "ms"));
    assert_true(ms < 4000); /* answered before the 4 s deadline */
    assert_true(ms > 2000); /* and not before the margin */
    assert_true(s3env_stat(&env, "by_op.UploadPart") > 0);
    if (s3env_stat(&env, "by_op.AbortMultipartUpload") < 1 || s3env_count_uploads(&env, NULL)) {
        show(f);
        fail_msg("the timed-out invocation left its multipart upload behind: the S3 store must "
                 "still send AbortMultipartUpload once its deadline has cut a request short");
    }
    assert_expected_results(f, 1);
    assert_int_equal(count_results_objects(f), 1); /* the second invocation's only */
    json_t *emf[4];
    assert_int_equal(find_emf(f, emf, 4), 2);
    assert_string_equal(str(emf[0], "errorType"), "Timeout");
    printf("lambda: Timeout posted %.0f ms into a 4000 ms invocation\n", ms);
}

/* The package alone: unpacked into an otherwise empty root (no /bin/sh, no
 * libc, no /etc, no /proc) and run there with chroot, as on a machine that has
 * none of the build machine's libraries. Text logs this time. */
static void test_bare_root(void **state)
{
    REQUIRE_SERVER();
    if (BUILT_WITH_ASAN) {
        print_message("skipped: a sanitizer build's package needs /proc (make test runs this)\n");
        skip();
    }
    struct fx *f = *state;
    DIR *d = opendir(unpack_root);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            entries++, assert_string_equal(e->d_name, "var");
    closedir(d);
    assert_int_equal(entries, 1);

    make_export(f, 120, 2, 13);
    bool root = geteuid() == 0;
    const char *as_root[] = {"chroot", unpack_root, "/var/task/bootstrap", NULL};
    const char *as_user[] = {
        "unshare", "--user", "--map-root-user", "chroot", unpack_root, "/var/task/bootstrap", NULL};
    const char *set[] = {"LAMBDA_TASK_ROOT", "/var/task", NULL};
    plan_new(f, code_command(root ? as_root : as_user, set, NULL), 30);
    plan_invoke(f, f->info.event);
    plan_invoke(f, "not json");
    plan_invoke(f, f->info.event);
    run_plan(f);
    assert_expected_results(f, 0);
    assert_function_error(f, 1, "Handled", "InvalidEvent");
    assert_expected_results(f, 2);

    /* Text format in the managed runtimes' tab-separated columns (time,
     * request id, level, message), whole lines even through pipes. */
    assert_non_null(strstr(f->res.err, "Z\t\tINFO\tlambda runtime ready"));
    assert_non_null(strstr(f->res.err, "\tERROR\tinvocation failed"));
    assert_non_null(strstr(f->res.err, "invocation failed errorType=InvalidEvent"));
}

/* Under valgrind, several invocations (successes and failures) leave no
 * memory error and nothing definitely or indirectly lost. */
static void test_no_leak_across_invocations(void **state)
{
    REQUIRE_SERVER();
    if (BUILT_WITH_ASAN) {
        print_message("skipped: valgrind cannot run a sanitizer build (make test runs this)\n");
        skip();
    }
    struct fx *f = *state;
    if (system("valgrind --version >/dev/null 2>&1") != 0)
        fail_msg("valgrind is not installed (scripts/install-deps.sh installs it)");
    make_export(f, 50, 2, 14);
    char log_opt[4400], log_path[4300];
    snprintf(log_path, sizeof log_path, "%s/valgrind.log", f->root);
    snprintf(log_opt, sizeof log_opt, "--log-file=%s", log_path);
    char bin[4096];
    assert_non_null(realpath(proc_bin(), bin)); /* the emulator runs it from elsewhere */
    const char *argv[] = {"valgrind",
                          "--leak-check=full",
                          "--show-leak-kinds=definite,indirect",
                          "--errors-for-leak-kinds=definite,indirect",
                          log_opt,
                          bin,
                          NULL};
    plan_new(f, code_command(argv, NULL, NULL), 60);
    plan_invoke(f, f->info.event);
    plan_invoke(f, "{\"results\": []}");
    plan_invoke(f, f->info.event);
    plan_invoke(f, "{\"results\":{\"ResultWriterDetails\":{\"Bucket\":\"tdr-backend-checks-intg\","
                   "\"Key\":\"c/none/manifest.json\"}}}");
    plan_invoke(f, f->info.event);
    run_plan(f);
    assert_expected_results(f, 4);
    assert_function_error(f, 1, "Handled", "InvalidEvent");
    assert_function_error(f, 3, "Handled", "NoSuchKey");

    /* Leaks count as errors (--errors-for-leak-kinds), and the summary is
     * there even though the emulator ends the process with SIGTERM. */
    char *log = files_read(log_path, NULL);
    assert_non_null(log);
    if (!strstr(log, "HEAP SUMMARY") || !strstr(log, "ERROR SUMMARY: 0 errors"))
        fail_msg("valgrind:\n%s", log);
    free(log);
}

/* ---------------------------------------------------------------- the strict Runtime API */

/* A plan for strict.js: the unpacked package, S3 at the proxy. */
static void strict_plan_new(struct fx *f, int timeout_s)
{
    plan_new(f, code_zip(), timeout_s);
    json_object_del(f->plan, "code");
    json_object_set_new(f->plan, "dir", json_string(package_dir));
}

/* Invocation i was reported as real Lambda reports an error a custom runtime
 * posts: Unhandled, the body's errorType as the step's, the header kept as
 * Function.<type>, an X-Ray cause naming the same type. */
static void assert_strict_error(struct fx *f, size_t i, const char *type)
{
    assert_function_error(f, i, "Unhandled", type);
    json_t *r = result(f, i);
    char header[128];
    snprintf(header, sizeof header, "Function.%s", type);
    if (!str(r, "errorType") || strcmp(str(r, "errorType"), header) != 0) {
        show(f);
        fail_msg("invocation %zu: error type header sent %s, kept as %s; want %s", i,
                 str(r, "errorTypeSent"), str(r, "errorType"), header);
    }
    json_t *cause = json_object_get(r, "xrayCause");
    if (!json_is_object(cause))
        fail_msg("invocation %zu: no valid X-Ray error cause (sent: %s)", i,
                 json_is_true(json_object_get(r, "xrayCauseSent")) ? "yes" : "no");
    json_t *ex = json_array_get(json_object_get(cause, "exceptions"), 0);
    assert_string_equal(str(ex, "type"), type);
    assert_true(strlen(str(ex, "message")) > 0);
    assert_string_equal(str(cause, "working_directory"), package_dir);
    /* The error's location, if it has one, is the one stack frame's label. */
    json_t *doc = json_loads(str(r, "payload"), 0, NULL);
    json_t *trace = json_object_get(doc, "stackTrace");
    json_t *stack = json_object_get(ex, "stack");
    assert_int_equal(json_array_size(stack), json_array_size(trace));
    if (json_array_size(trace) == 1)
        assert_string_equal(str(json_array_get(stack, 0), "label"),
                            json_string_value(json_array_get(trace, 0)));
    json_decref(doc);
}

/* The package through the strict Runtime API, JSON logs at level ERROR:
 * successes and errors in one process; no request refused; error types kept
 * as sent; the metrics survive Lambda's log-level filter; every S3 request
 * carries its invocation's trace id (the upload thread's too); the
 * User-Agent; and at shutdown nothing is left running. */
static void test_strict_runtime_api(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 300, 3, 16);
    assert_int_equal(s3env_configure(&env, NULL, 1 * KIB), 0); /* S3's part floor, scaled */
    assert_int_equal(s3env_reset_stats(&env), 0); /* the request log: the function's only */
    char missing[4096];
    snprintf(missing, sizeof missing,
             "{\"results\":{\"ResultWriterDetails\":{\"Bucket\":\"tdr-backend-checks-intg\","
             "\"Key\":\"%s/nothing-here/manifest.json\"}}}",
             f->info.consignment_id);
    strict_plan_new(f, 30);
    plan_env(f, "AWS_LAMBDA_LOG_FORMAT", "JSON");
    plan_env(f, "AWS_LAMBDA_LOG_LEVEL", "ERROR");
    plan_env(f, "BCR_S3_PART_SIZE", "65536"); /* a multipart upload, from its own thread */
    plan_invoke(f, f->info.event);
    plan_invoke(f, "{\"results\": 5");
    plan_invoke(f, missing);
    plan_invoke(f, f->info.event);
    run_plan_with(f, strict_driver);

    assert_expected_results(f, 0);
    assert_strict_error(f, 1, "InvalidEvent");
    assert_strict_error(f, 2, "NoSuchKey");
    char where[2048];
    snprintf(where, sizeof where,
             "GetObject s3://tdr-backend-checks-intg/%s/nothing-here/manifest.json",
             f->info.consignment_id);
    assert_error_at(f, 2,
                    "An error occurred (NoSuchKey) when calling the GetObject operation: The "
                    "specified key does not exist.",
                    where);
    assert_int_equal(
        json_array_size(json_object_get(
            json_array_get(
                json_object_get(json_object_get(result(f, 1), "xrayCause"), "exceptions"), 0),
            "stack")),
        0);
    assert_expected_results(f, 3);
    json_int_t pid = json_integer_value(json_object_get(result(f, 0), "pid"));
    for (size_t i = 1; i < 4; i++)
        assert_int_equal(json_integer_value(json_object_get(result(f, i), "pid")), pid);

    json_t *rejected = json_object_get(f->doc, "rejected");
    if (json_array_size(rejected) != 0) {
        char *text = mem_check(json_dumps(rejected, 0));
        fail_msg("the Runtime API refused requests: %s", text);
    }
    json_t *agents = json_object_get(f->doc, "userAgents");
    assert_int_equal(json_array_size(agents), 1);
    assert_string_equal(json_string_value(json_array_get(agents, 0)),
                        "backend-checks-results/" BCR_VERSION);

    /* Lambda's filter at ERROR drops nothing the function writes (it filters
     * its own lines first), and keeps one metrics record per invocation. */
    json_t *logs = json_object_get(f->doc, "logs");
    assert_int_equal(json_integer_value(json_object_get(f->doc, "droppedLogs")), 0);
    size_t emf = 0, i;
    json_t *line;
    json_array_foreach(logs, i, line)
    {
        json_t *v = json_loads(json_string_value(line), 0, NULL);
        if (v && json_object_get(v, "_aws")) {
            emf++;
            assert_true(json_is_integer(json_object_get(v, "Entries")));
        }
        json_decref(v);
    }
    if (emf != 4) {
        show(f);
        fail_msg("%zu EMF records reached CloudWatch at log level ERROR, not 4", emf);
    }

    /* Every S3 request was made under its invocation's trace id. */
    char *log = s3env_control(&env, "GET", "/__control/requests", NULL);
    assert_non_null(log);
    json_t *requests = json_loads(log, 0, NULL);
    free(log);
    assert_true(json_array_size(requests) > 0);
    size_t parts = 0;
    json_t *req;
    json_array_foreach(requests, i, req)
    {
        const char *trace = str(req, "trace_id");
        bool known = false;
        for (size_t k = 0; trace && k < 4; k++)
            known = known || strcmp(trace, str(result(f, k), "traceId")) == 0;
        if (!known)
            fail_msg("S3 request %zu (%s %s) carried X-Amzn-Trace-Id %s", i, str(req, "op"),
                     str(req, "key"), trace ? trace : "(none)");
        parts += strcmp(str(req, "op"), "UploadPart") == 0;
    }
    assert_true(parts > 0);
    json_decref(requests);

    json_t *down = json_object_get(f->doc, "shutdown");
    assert_true(json_is_true(json_object_get(down, "term")));
    assert_true(json_is_true(json_object_get(down, "gone")));
}

/* A request that never answers, through the strict Runtime API (which kills
 * the process at the deadline): the step answers first, with its own Timeout
 * error, and the same process serves the next invocation. */
static void test_strict_deadline(void **state)
{
    REQUIRE_SERVER();
    struct fx *f = *state;
    make_export(f, 400, 4, 17);
    assert_int_equal(s3env_configure(&env, NULL, 1 * KIB), 0);
    assert_int_equal(s3env_set_faults(&env, "[{\"op\": \"GetObject\", \"key\": "
                                            "\"SUCCEEDED_3\\\\.json$\", \"action\": \"stall\", "
                                            "\"count\": 1}]"),
                     0);
    strict_plan_new(f, 4);
    plan_env(f, "AWS_LAMBDA_LOG_FORMAT", "JSON");
    plan_env(f, "BCR_S3_PART_SIZE", "65536");
    plan_invoke(f, f->info.event);
    plan_invoke(f, f->info.event);
    plan_clear_faults_before(f);
    run_plan_with(f, strict_driver);

    assert_strict_error(f, 0, "Timeout"); /* not Sandbox.Timedout: never killed */
    assert_expected_results(f, 1);
    assert_int_equal(json_integer_value(json_object_get(result(f, 0), "pid")),
                     json_integer_value(json_object_get(result(f, 1), "pid")));
    assert_int_equal(s3env_count_uploads(&env, NULL), 0);
    json_t *down = json_object_get(f->doc, "shutdown");
    assert_true(json_is_true(json_object_get(down, "gone")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cold_then_warm_in_one_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_error_no_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_error_no_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_error_bad_transformation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_error_bad_require_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_stops_a_slow_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_cuts_a_stalled_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bare_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_leak_across_invocations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strict_runtime_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strict_deadline, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
