/* No secret in any output: the secret access key, the session token and any
 * signature never appear on stdout or stderr, at the most verbose log level,
 * in either log format, whether the run succeeds or fails (wrong secret,
 * missing object, every attempt throttled). Against s3rver through the
 * signature-checking proxy (tests/support/s3env.h), multipart path included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "files.h"
#include "gen.h"
#include "s3env.h"

#define BUCKET "tdr-backend-checks-intg"
#define TOKEN "IQoJb3JpZ2luX2VjEXAMPLE/session+token=SENTINEL0123456789"
#define OTHER_SECRET "wrong/secret+KEY=SENTINEL9876543210zyx"

static struct s3env env;
static bool server_up;
static char *root;
static struct gen_export_info info;
static char event_path[4200];

static int group_setup(void **state)
{
    (void)state;
    s3env_isolate_environment();
    root = files_tmpdir();
    if (!s3env_node_available())
        return 0;
    struct s3env_options options = {.session_token = TOKEN, .min_part_size = 64 * 1024};
    if (s3env_start(&env, &options) != 0)
        return -1;
    server_up = true;
    struct gen_export_spec spec = {BUCKET, 3000, 2, false, 5};
    gen_export(root, &spec, NULL, &info);
    snprintf(event_path, sizeof event_path, "%s/event.json", root);
    files_write(event_path, info.event, strlen(info.event));
    return s3env_upload_tree(&env, root) > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    s3env_stop(&env);
    files_rmtree(root);
    free(root);
    return 0;
}

/* Runs the CLI with TRACE logs in `format` plus `extra` environment, returns
 * its exit status and checks that nothing secret was printed. */
static int run_and_check(const char *format, const char *event_file, const char *extra_var)
{
    char format_var[64];
    snprintf(format_var, sizeof format_var, "AWS_LAMBDA_LOG_FORMAT=%s", format);
    char *extra[] = {format_var,
                     "AWS_LAMBDA_LOG_LEVEL=TRACE",
                     "BCR_S3_PART_SIZE=65536",
                     "AWS_MAX_ATTEMPTS=2",
                     (char *)extra_var,
                     NULL};
    char *argv[] = {(char *)proc_bin(), "--endpoint-url", env.endpoint, (char *)event_file, NULL};
    struct proc_result res;
    proc_run(argv, NULL, s3env_env(&env, extra), 120, &res);
    static const char *const secrets[] = {S3ENV_SECRET_KEY, TOKEN,         OTHER_SECRET,
                                          "Signature=",     "Credential=", "AWS4-HMAC-SHA256"};
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
        if (strstr(res.out, secrets[i]) || strstr(res.err, secrets[i]))
            fail_msg("\"%s\" printed (format %s): %s", secrets[i], format, res.err);
    }
    /* The check means something only if the run did log its requests. */
    assert_non_null(strstr(res.err, "s3 request"));
    int status = res.status;
    proc_result_free(&res);
    return status;
}

static void test_success_prints_no_secret(void **state)
{
    (void)state;
    if (!server_up)
        skip();
    /* 3000 entries make a results.json of several 64 KiB parts: multipart. */
    assert_int_equal(s3env_reset_stats(&env), 0);
    assert_int_equal(run_and_check("JSON", event_path, NULL), 0);
    assert_true(s3env_stat(&env, "by_op.UploadPart") > 1);
    assert_int_equal(run_and_check("Text", event_path, NULL), 0);
}

static void test_failures_print_no_secret(void **state)
{
    (void)state;
    if (!server_up)
        skip();
    char missing_path[4200];
    snprintf(missing_path, sizeof missing_path, "%s/missing.json", root);
    const char *missing = "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET
                          "\", \"Key\": \"c/none/manifest.json\"}}}";
    files_write(missing_path, missing, strlen(missing));
    static const char *const formats[] = {"JSON", "Text"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run_and_check(formats[i], missing_path, NULL), 1);
        assert_int_equal(
            run_and_check(formats[i], event_path, "AWS_SECRET_ACCESS_KEY=" OTHER_SECRET), 1);
        assert_int_equal(
            s3env_set_faults(&env,
                             "[{\"method\": \"PUT\", \"action\": \"slowdown\", \"count\": -1}]"),
            0);
        assert_int_equal(run_and_check(formats[i], event_path, NULL), 1);
        assert_int_equal(s3env_clear_faults(&env), 0);
    }
}

/* A server that quotes the secret key, the session token and the request's
 * signature back in its error message: the message is printed with them
 * hidden. */
static void test_quoted_secrets_are_hidden(void **state)
{
    (void)state;
    if (!server_up)
        skip();
    assert_int_equal(s3env_set_faults(&env,
                                      "[{\"op\": \"GetObject\", \"key\": \"manifest\\\\.json$\", "
                                      "\"action\": \"error\", \"status\": 403, \"code\": "
                                      "\"AccessDenied\", \"quote\": true, \"message\": "
                                      "\"Denied, secret " S3ENV_SECRET_KEY ".\"}]"),
                     0);
    char *argv[] = {(char *)proc_bin(), "--endpoint-url", env.endpoint, event_path, NULL};
    char *extra[] = {"AWS_LAMBDA_LOG_LEVEL=TRACE", NULL};
    struct proc_result res;
    proc_run(argv, NULL, s3env_env(&env, extra), 120, &res);
    assert_int_equal(s3env_clear_faults(&env), 0);
    assert_int_equal(res.status, 1);
    if (strstr(res.err, S3ENV_SECRET_KEY) || strstr(res.err, TOKEN))
        fail_msg("a quoted secret was printed: %s", res.err);
    if (!strstr(res.err,
                "Denied, secret [hidden]. You sent signature [hidden] and token [hidden]."))
        fail_msg("the quoted secrets are not shown as hidden: %s", res.err);
    proc_result_free(&res);
}

/* Percent-encodes text (hex in lower case, as some servers write it). */
static void percent_encode(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = text; *p && n + 4 < cap; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
            out[n++] = *p;
        else
            n += (size_t)snprintf(out + n, cap - n, "%%%02x", (unsigned char)*p);
    }
    out[n] = '\0';
}

/* Runs the CLI on a manifest the proxy answers with `faults`; checks nothing
 * of the token or the secret key was printed, in any form, and that the
 * message shows "[hidden]". */
static void expect_hidden(const char *faults)
{
    assert_int_equal(s3env_set_faults(&env, faults), 0);
    char *argv[] = {(char *)proc_bin(), "--endpoint-url", env.endpoint, event_path, NULL};
    char *extra[] = {"AWS_LAMBDA_LOG_LEVEL=TRACE", "AWS_MAX_ATTEMPTS=1", NULL};
    struct proc_result res;
    proc_run(argv, NULL, s3env_env(&env, extra), 120, &res);
    assert_int_equal(s3env_clear_faults(&env), 0);
    assert_int_equal(res.status, 1);
    /* Pieces of the token and the key that no encoding changes. */
    static const char *const pieces[] = {"IQoJb3Jp", "SENTINEL", "test", "0123456789abcdef"};
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++)
        if (strstr(res.err, pieces[i]) || strstr(res.out, pieces[i]))
            fail_msg("\"%s\" printed: %s", pieces[i], res.err);
    if (!strstr(res.err, "[hidden]"))
        fail_msg("nothing shown as hidden: %s", res.err);
    proc_result_free(&res);
}

/* A server quoting the secrets in another form: the session token
 * percent-encoded in a redirect's Location (whole, and cut short where the
 * message stops quoting it), the secret key as XML character references. */
static void test_encoded_secrets_are_hidden(void **state)
{
    (void)state;
    if (!server_up)
        skip();
    char token[256], faults[2048];
    percent_encode(TOKEN, token, sizeof token);
    snprintf(faults, sizeof faults,
             "[{\"op\": \"GetObject\", \"key\": \"manifest\\\\.json$\", \"action\": \"redirect\", "
             "\"location\": \"https://elsewhere.example/b/k?X-Amz-Security-Token=%s&x=1\"}]",
             token);
    expect_hidden(faults);
    /* The Location is quoted up to 400 bytes: the token straddles that. */
    char pad[400];
    memset(pad, 'p', 340);
    pad[340] = '\0';
    snprintf(faults, sizeof faults,
             "[{\"op\": \"GetObject\", \"key\": \"manifest\\\\.json$\", \"action\": \"redirect\", "
             "\"location\": \"https://elsewhere.example/%s?X-Amz-Security-Token=%s\"}]",
             pad, token);
    expect_hidden(faults);
    /* The secret key as &#NN; references (the proxy escapes the '&' once more). */
    char key[512];
    size_t n = 0;
    for (const char *p = S3ENV_SECRET_KEY; *p; p++)
        n += (size_t)snprintf(key + n, sizeof key - n, (p - S3ENV_SECRET_KEY) % 2 ? "&#%d;" : "%c",
                              *p);
    snprintf(faults, sizeof faults,
             "[{\"op\": \"GetObject\", \"key\": \"manifest\\\\.json$\", \"action\": \"error\", "
             "\"status\": 403, \"code\": \"AccessDenied\", \"message\": \"Denied for %s.\"}]",
             key);
    expect_hidden(faults);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_prints_no_secret),
        cmocka_unit_test(test_failures_print_no_secret),
        cmocka_unit_test(test_quoted_secrets_are_hidden),
        cmocka_unit_test(test_encoded_secrets_are_hidden),
    };
    return cmocka_run_group_tests_name("secrets", tests, group_setup, group_teardown);
}
