/* The arm64 Lambda package (build/function-arm64.zip, `make package
 * ARCH=arm64`) serving invocations: unpacked, its bootstrap run under
 * qemu-user (qemu-aarch64; natively on an arm64 machine) by the strict
 * Runtime API emulator (tests/lambda/strict.js), against the test S3 server
 * over HTTPS with a throwaway CA, as Lambda on Graviton would run it. A
 * success (an output over 8 MiB, so a multipart upload) byte for byte the
 * x86-64 package's, a NoSuchKey in the same process, a stalled read stopped
 * with the step's own Timeout and its upload aborted, and SIGTERM at shutdown
 * ending the process. Skipped, saying so, when the package was not built (no
 * cross compiler: scripts/install-cross-deps.sh). qemu proves correctness
 * only: nothing here measures speed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "mem.h"
#include "proc.h"
#include "files.h"
#include "gen.h"
#include "s3env.h"
#include "tlsenv.h"

#define BUCKET "tdr-backend-checks-intg"
#define MIB (1024L * 1024L)

static struct s3env env;
static bool ready;
static char *root;               /* the CA, the server's certificate, the unpacked package */
static struct tlsenv tls;        /* tls.ca: the function's SSL_CERT_FILE */
static char package_dir[4200];   /* ROOT/var/task: function-arm64.zip unpacked */
static char x86_bin[4200];       /* BCR_BIN's directory/package/bootstrap */
static char strict_driver[4200]; /* tests/lambda/strict.js */
static char node[] = "/usr/bin/node";
static const char *launcher; /* "qemu-aarch64", or NULL on an arm64 machine */

static int group_setup(void **state)
{
    (void)state;
    s3env_isolate_environment();
    unsetenv("SSL_CERT_FILE");
    unsetenv("SSL_CERT_DIR");
    const char *bin = proc_bin();
    const char *slash = strrchr(bin, '/');
    int dir_len = slash ? (int)(slash - bin) : 1;
    const char *dir = slash ? bin : ".";
    char zip[4200];
    snprintf(zip, sizeof zip, "%.*s/function-arm64.zip", dir_len, dir);
    snprintf(x86_bin, sizeof x86_bin, "%.*s/package/bootstrap", dir_len, dir);
    snprintf(strict_driver, sizeof strict_driver, "tests/lambda/strict.js");
    if (access(zip, R_OK) != 0) {
        fprintf(stderr,
                "test_arm64: SKIPPING: %s was not built (make package ARCH=arm64; "
                "`make test` builds it when the cross compiler is installed)\n",
                zip);
        return 0;
    }
    struct utsname u;
    launcher = uname(&u) == 0 && strcmp(u.machine, "aarch64") == 0 ? NULL : "qemu-aarch64";
    if (!s3env_node_available())
        return 0;
    root = files_tmpdir();
    snprintf(package_dir, sizeof package_dir, "%s/var", root);
    mkdir(package_dir, 0755);
    snprintf(package_dir, sizeof package_dir, "%s/var/task", root);
    char *unzip[] = {"/usr/bin/unzip", "-q", zip, "-d", package_dir, NULL};
    if (!proc_run_ok(unzip, 120, "test_arm64") || tlsenv_start(&tls, root, &env) != 0)
        return -1;
    ready = true;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    s3env_stop(&env);
    if (root) {
        files_rmtree(root);
        free(root);
    }
    return 0;
}

struct fx {
    char *dir;
    struct gen_export_info info;
    struct proc_result res;
    json_t *plan, *doc;
};

static int setup(void **state)
{
    struct fx *f = mem_check(calloc(1, sizeof *f));
    f->dir = files_tmpdir();
    *state = f;
    return ready && (s3env_clear_faults(&env) || s3env_configure(&env, NULL, 5 * MIB)) ? -1 : 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    proc_result_free(&f->res);
    json_decref(f->plan);
    json_decref(f->doc);
    files_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* An export in the server; its event in f->info. */
static void upload_export(struct fx *f, uint64_t entries, int files, uint32_t seed)
{
    char store[4300];
    snprintf(store, sizeof store, "%s/store", f->dir);
    struct gen_export_spec spec = {
        .bucket = BUCKET, .entries = entries, .files = files, .seed = seed};
    gen_export(store, &spec, NULL, &f->info);
    assert_int_equal(s3env_upload_tree(&env, store), files + 1);
}

/* A strict.js plan: the unpacked arm64 package under the launcher, S3 over
 * HTTPS trusting the test CA only. */
static void plan_new(struct fx *f, int timeout_s)
{
    f->plan =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:{s:s, s:s, s:s}, s:[]}", "dir",
                  package_dir, "name", "tdr-backend-checks-results-arm64", "region", env.region,
                  "accessKeyId", env.access_key, "secretAccessKey", env.secret_key, "timeout",
                  timeout_s, "memory", 1024, "env", "AWS_ENDPOINT_URL_S3", env.endpoint,
                  "SSL_CERT_FILE", tls.ca, "AWS_LAMBDA_LOG_FORMAT", "JSON", "invocations");
    assert_non_null(f->plan);
    if (launcher)
        json_object_set_new(f->plan, "launcher", json_pack("[s]", launcher));
}

static void plan_invoke(struct fx *f, const char *payload, const char *before_url)
{
    json_t *inv = json_pack("{s:s}", "payload", payload);
    if (before_url)
        json_object_set_new(inv, "before",
                            json_pack("[{s:s, s:s}]", "method", "DELETE", "url", before_url));
    json_array_append_new(json_object_get(f->plan, "invocations"), inv);
}

static void show(const struct fx *f)
{
    fprintf(stderr, "strict.js: exit %d\n--- stdout\n%s--- stderr (last 4000 bytes)\n%s\n",
            f->res.status, f->res.out,
            f->res.err_len > 4000 ? f->res.err + f->res.err_len - 4000 : f->res.err);
}

static void run_plan(struct fx *f)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/plan.json", f->dir);
    assert_int_equal(json_dump_file(f->plan, path, JSON_COMPACT), 0);
    char *argv[] = {node, strict_driver, path, NULL};
    char trust[4300]; /* for the requests strict.js makes to the server itself */
    snprintf(trust, sizeof trust, "NODE_EXTRA_CA_CERTS=%s", tls.ca);
    char *extra[] = {trust, NULL};
    proc_run(argv, NULL, extra, 600, &f->res);
    const char *doc = strstr(f->res.out, "{\"results\":");
    if (f->res.status != 0 || !doc)
        show(f);
    assert_int_equal(f->res.status, 0);
    f->doc = json_loads(doc, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(f->doc);
    assert_int_equal(json_array_size(json_object_get(f->doc, "results")),
                     json_array_size(json_object_get(f->plan, "invocations")));
}

static json_t *result(struct fx *f, size_t i)
{
    return json_array_get(json_object_get(f->doc, "results"), i);
}

static const char *str(json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

/* Invocation i failed as Lambda reports a custom runtime's error, with type. */
static void assert_error(struct fx *f, size_t i, const char *type)
{
    json_t *r = result(f, i);
    if (!str(r, "functionError")) {
        show(f);
        fail_msg("invocation %zu succeeded; expected %s: %s", i, type, str(r, "payload"));
    }
    assert_string_equal(str(r, "functionError"), "Unhandled");
    json_t *doc = json_loads(str(r, "payload"), 0, NULL);
    assert_non_null(doc);
    assert_string_equal(str(doc, "errorType"), type);
    json_decref(doc);
}

/* The x86-64 package's program on the same event: results.json on stdout. */
static char *x86_results(struct fx *f, size_t *len)
{
    char event_path[4300], trust[4300];
    snprintf(event_path, sizeof event_path, "%s/event.json", f->dir);
    files_write(event_path, f->info.event, strlen(f->info.event));
    snprintf(trust, sizeof trust, "SSL_CERT_FILE=%s", tls.ca);
    char *extra[] = {trust, NULL};
    char *argv[] = {x86_bin, "--endpoint-url", env.endpoint, "--output", "-", event_path, NULL};
    struct proc_result res;
    proc_run(argv, NULL, s3env_env(&env, extra), 300, &res);
    if (res.status != 0)
        fail_msg("the x86-64 package failed: %s", res.err);
    char *out = res.out;
    *len = res.out_len;
    res.out = NULL;
    proc_result_free(&res);
    return out;
}

/* One process: an export whose results.json is over 8 MiB (a multipart
 * upload of 8 MiB parts), then a manifest that does not exist, then SIGTERM
 * at shutdown. The output is the x86-64 package's, byte for byte. */
static void test_arm64_serves_invocations(void **state)
{
    if (!ready)
        skip();
    struct fx *f = *state;
    upload_export(f, 8000, 3, 64);
    assert_int_equal(s3env_reset_stats(&env), 0);
    char missing[4096];
    snprintf(missing, sizeof missing,
             "{\"results\":{\"ResultWriterDetails\":{\"Bucket\":\"" BUCKET "\","
             "\"Key\":\"%s/nothing-here/manifest.json\"}}}",
             f->info.consignment_id);
    plan_new(f, 300);
    plan_invoke(f, f->info.event, NULL);
    plan_invoke(f, missing, NULL);
    run_plan(f);

    json_t *r = result(f, 0);
    if (str(r, "functionError")) {
        show(f);
        fail_msg("the arm64 package failed: %s", str(r, "payload"));
    }
    json_t *reply = json_loads(str(r, "payload"), 0, NULL);
    assert_non_null(reply);
    size_t len = 0, want_len = 0;
    char *got = s3env_get(&env, BUCKET, str(reply, "key"), &len);
    assert_non_null(got);
    json_decref(reply);
    char *want = x86_results(f, &want_len);
    assert_true(len > 8 * MIB);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, len);
    free(got);
    free(want);

    /* The upload was multipart: at least two UploadPart requests. */
    char *log = s3env_control(&env, "GET", "/__control/requests", NULL);
    assert_non_null(log);
    json_t *requests = json_loads(log, 0, NULL);
    free(log);
    size_t parts = 0, i;
    json_t *req;
    json_array_foreach(requests, i, req)
    {
        parts += strcmp(str(req, "op"), "UploadPart") == 0;
    }
    json_decref(requests);
    assert_true(parts >= 2);

    assert_error(f, 1, "NoSuchKey");
    assert_int_equal(json_integer_value(json_object_get(result(f, 0), "pid")),
                     json_integer_value(json_object_get(result(f, 1), "pid")));
    /* SIGTERM at shutdown ends the process by itself, before the SIGKILL. */
    json_t *down = json_object_get(f->doc, "shutdown");
    assert_true(json_is_true(json_object_get(down, "term")));
    assert_false(json_is_true(json_object_get(down, "killed")));
    assert_true(json_is_true(json_object_get(down, "gone")));
}

/* A result file whose GetObject never answers: the step stops before the
 * deadline with its own Timeout, aborts its upload, and the same process
 * serves the next invocation once the fault is gone. */
static void test_arm64_timeout(void **state)
{
    if (!ready)
        skip();
    struct fx *f = *state;
    upload_export(f, 400, 4, 65);
    assert_int_equal(s3env_configure(&env, NULL, 1024), 0);
    assert_int_equal(s3env_set_faults(&env, "[{\"op\": \"GetObject\", \"key\": "
                                            "\"SUCCEEDED_3\\\\.json$\", \"action\": \"stall\", "
                                            "\"count\": 1}]"),
                     0);
    char clear[128];
    snprintf(clear, sizeof clear, "%s/__control/faults", env.endpoint);
    plan_new(f, 6);
    json_object_set_new(json_object_get(f->plan, "env"), "BCR_S3_PART_SIZE", json_string("65536"));
    plan_invoke(f, f->info.event, NULL);
    plan_invoke(f, f->info.event, clear);
    run_plan(f);

    assert_error(f, 0, "Timeout"); /* the step's, not Sandbox.Timedout */
    json_t *r = result(f, 1);
    if (str(r, "functionError")) {
        show(f);
        fail_msg("the invocation after the timeout failed: %s", str(r, "payload"));
    }
    assert_int_equal(json_integer_value(json_object_get(result(f, 0), "pid")),
                     json_integer_value(json_object_get(r, "pid")));
    assert_int_equal(s3env_count_uploads(&env, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_arm64_serves_invocations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arm64_timeout, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
