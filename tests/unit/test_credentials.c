/* AWS credentials: the environment, the shared credentials file and its
 * profiles, precedence, and errors that say what is missing without ever
 * quoting a secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interrupt.h"
#include "s3/config.h"
#include "s3/credentials.h"

static const char *const vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                   "AWS_SESSION_TOKEN", "AWS_SHARED_CREDENTIALS_FILE",
                                   "AWS_PROFILE",       "HOME",
                                   "AWS_CONFIG_FILE"};

struct fixture {
    char dir[64];
    char path[128]; /* dir/credentials */
};

/* Every test starts from an environment with none of the variables above
 * and a fresh directory to put files in. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/bcr-creds-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/credentials", f->dir);
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[160];
    unlink(f->path);
    snprintf(p, sizeof p, "%s/.aws/credentials", f->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/.aws", f->dir);
    rmdir(p);
    static const char *const extra[] = {"config", "process.sh"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", f->dir, extra[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
}

/* credentials_load with the environment as it is now, as the S3 store calls it. */
static int load(struct aws_credentials *c, struct error *err)
{
    struct aws_env env;
    s3_config_aws_env(&env);
    return credentials_load(&env, c, err);
}

static void expect_loaded(const char *id, const char *secret, const char *token)
{
    struct aws_credentials c;
    struct error err = {0};
    if (load(&c, &err) != 0)
        fail_msg("credentials_load failed: %s: %s", err.type, err.message);
    assert_string_equal(c.access_key_id, id);
    assert_string_equal(c.secret_access_key, secret);
    if (token)
        assert_string_equal(c.session_token, token);
    else
        assert_null(c.session_token);
    credentials_clear(&c);
    assert_null(c.access_key_id);
    assert_null(c.secret_access_key);
    assert_null(c.session_token);
}

/* Loads expecting a ConfigurationError: checks the message holds each of
 * `must` (NULL-terminated) and none of `secrets`, and that out is zeroed. */
static void expect_error(const char *const *must, const char *const *secrets)
{
    struct aws_credentials c = {(char *)"stale", (char *)"stale", (char *)"stale"};
    struct error err = {0};
    assert_int_equal(load(&c, &err), -1);
    assert_string_equal(err.type, ERR_CONFIG);
    for (; must && *must; must++)
        if (!strstr(err.message, *must))
            fail_msg("message \"%s\" lacks \"%s\"", err.message, *must);
    for (; secrets && *secrets; secrets++)
        if (strstr(err.message, *secrets))
            fail_msg("message \"%s\" leaks a secret", err.message);
    assert_null(c.access_key_id);
    assert_null(c.secret_access_key);
    assert_null(c.session_token);
}

static void test_environment(void **state)
{
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT0001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env/secret+value=", 1);
    expect_loaded("AKIAENVIRONMENT0001", "env/secret+value=", NULL);

    setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEBY//token==", 1);
    expect_loaded("AKIAENVIRONMENT0001", "env/secret+value=", "FwoGZXIvYXdzEBY//token==");

    /* An empty token is no token. */
    setenv("AWS_SESSION_TOKEN", "", 1);
    expect_loaded("AKIAENVIRONMENT0001", "env/secret+value=", NULL);
}

static void test_environment_wins_over_the_file(void **state)
{
    struct fixture *f = *state;
    write_file(f->path, "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = "
                        "filesecret\naws_session_token = filetoken\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", f->path, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    /* The file's token belongs to the file's key: it is not mixed in. */
    expect_loaded("AKIAENV", "envsecret", NULL);

    /* Empty variables count as unset, so the file is used. */
    setenv("AWS_ACCESS_KEY_ID", "", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "", 1);
    expect_loaded("AKIAFILE", "filesecret", "filetoken");
}

static void test_half_an_environment_pair_is_an_error(void **state)
{
    struct fixture *f = *state;
    write_file(f->path, "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = x\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", f->path, 1);

    setenv("AWS_ACCESS_KEY_ID", "AKIAHALFPAIR", 1);
    const char *must1[] = {"AWS_ACCESS_KEY_ID is set", "AWS_SECRET_ACCESS_KEY is not", NULL};
    const char *leak1[] = {"AKIAHALFPAIR", NULL};
    expect_error(must1, leak1);

    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_SECRET_ACCESS_KEY", "halfpairsecret", 1);
    const char *must2[] = {"AWS_SECRET_ACCESS_KEY is set", "AWS_ACCESS_KEY_ID is not", NULL};
    const char *leak2[] = {"halfpairsecret", NULL};
    expect_error(must2, leak2);
}

static const char profiles[] = "# shared credentials\r\n"
                               "; another comment\n"
                               "\n"
                               "[default]\n"
                               "aws_access_key_id = AKIADEFAULT\n"
                               "aws_secret_access_key = default/secret\n"
                               "\n"
                               "[ci]\r\n"
                               "AWS_ACCESS_KEY_ID=AKIACI\r\n"
                               "aws_secret_access_key:ci#secret=with;odd chars  \r\n"
                               "aws_session_token = ci token==\r\n"
                               "region = eu-west-2\r\n"
                               "[no-secret]\n"
                               "aws_access_key_id = AKIANOSECRET\n"
                               "aws_session_token = orphan-token-value\n"
                               "[no-id]\n"
                               "aws_secret_access_key = lonely-secret-value\n"
                               "[empty-token]\n"
                               "aws_access_key_id = AKIAEMPTY\n"
                               "aws_secret_access_key = empty/secret\n"
                               "aws_session_token =\n"
                               "[later]\n"
                               "aws_access_key_id = AKIAFIRST\n"
                               "aws_secret_access_key = first\n"
                               "aws_access_key_id = AKIASECOND\n"
                               "[defaults]\n"
                               "aws_access_key_id = AKIANOTTHISONE\n"
                               "aws_secret_access_key = not-this-one\n";

static void test_file_profiles(void **state)
{
    struct fixture *f = *state;
    write_file(f->path, profiles);
    setenv("AWS_SHARED_CREDENTIALS_FILE", f->path, 1);

    expect_loaded("AKIADEFAULT", "default/secret", NULL);
    setenv("AWS_PROFILE", "", 1); /* empty: the default profile */
    expect_loaded("AKIADEFAULT", "default/secret", NULL);

    /* Upper-case key, ':' separator, CRLF, '#' and ';' inside a value
     * (comments are whole lines only), a key the loader ignores. */
    setenv("AWS_PROFILE", "ci", 1);
    expect_loaded("AKIACI", "ci#secret=with;odd chars", "ci token==");

    setenv("AWS_PROFILE", "empty-token", 1);
    expect_loaded("AKIAEMPTY", "empty/secret", NULL);

    setenv("AWS_PROFILE", "later", 1);
    expect_loaded("AKIASECOND", "first", NULL);
}

static void test_file_errors_name_what_is_missing(void **state)
{
    struct fixture *f = *state;
    write_file(f->path, profiles);
    setenv("AWS_SHARED_CREDENTIALS_FILE", f->path, 1);
    const char *secrets[] = {
        "default/secret", "ci#secret", "orphan-token-value", "lonely-secret-value", "not-this-one",
        "empty/secret",   NULL};

    setenv("AWS_PROFILE", "no-secret", 1);
    const char *must1[] = {"[no-secret]", f->path, "aws_secret_access_key", NULL};
    expect_error(must1, secrets);

    setenv("AWS_PROFILE", "no-id", 1);
    const char *must2[] = {"[no-id]", f->path, "aws_access_key_id", NULL};
    expect_error(must2, secrets);

    setenv("AWS_PROFILE", "nosuch", 1);
    const char *must3[] = {"no profile [nosuch]", f->path, "AWS_ACCESS_KEY_ID", NULL};
    expect_error(must3, secrets);

    /* A profile name that is a prefix of another is not a match. */
    setenv("AWS_PROFILE", "default", 1);
    write_file(f->path, "[defaults]\naws_access_key_id = A\naws_secret_access_key = "
                        "not-this-one\n");
    const char *must4[] = {"no profile [default]", NULL};
    expect_error(must4, secrets);
}

static void test_nothing_configured(void **state)
{
    struct fixture *f = *state;
    /* HOME set, but no ~/.aws/credentials there. */
    setenv("HOME", f->dir, 1);
    char where[160];
    snprintf(where, sizeof where, "%s/.aws/credentials", f->dir);
    const char *must1[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", where, "cannot be read",
                           NULL};
    expect_error(must1, NULL);

    /* A named file that does not exist. */
    setenv("AWS_SHARED_CREDENTIALS_FILE", f->path, 1);
    const char *must2[] = {f->path, "cannot be read", NULL};
    expect_error(must2, NULL);

    /* Nowhere to look at all. */
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unsetenv("HOME");
    const char *must3[] = {"AWS_SHARED_CREDENTIALS_FILE", "HOME", NULL};
    expect_error(must3, NULL);
}

static void test_default_file_under_home(void **state)
{
    struct fixture *f = *state;
    char p[160];
    snprintf(p, sizeof p, "%s/.aws", f->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/.aws/credentials", f->dir);
    write_file(p, "[default]\naws_access_key_id=AKIAHOME\naws_secret_access_key=homesecret\n");
    setenv("HOME", f->dir, 1);
    expect_loaded("AKIAHOME", "homesecret", NULL);

    /* "~/" in AWS_SHARED_CREDENTIALS_FILE means $HOME. */
    write_file(f->path, "[default]\naws_access_key_id=AKIATILDE\naws_secret_access_key=t\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/credentials", 1);
    expect_loaded("AKIATILDE", "t", NULL);
    unsetenv("HOME");
    const char *must[] = {"starts with ~", "HOME", NULL};
    expect_error(must, NULL);
}

static void test_oversized_file_is_refused(void **state)
{
    struct fixture *f = *state;
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    fputs("[default]\naws_access_key_id=AKIABIG\naws_secret_access_key=big\n", fp);
    const char pad[] = "# padding\n";
    for (long n = 0; n <= CREDENTIALS_FILE_MAX; n += (long)sizeof pad - 1)
        fputs(pad, fp);
    assert_int_equal(fclose(fp), 0);
    setenv("AWS_SHARED_CREDENTIALS_FILE", f->path, 1);
    const char *must[] = {f->path, "over", NULL};
    expect_error(must, NULL);
}

/* The profile's process prints this document. */
#define PROCESS_DOC                                                                                \
    "{\"Version\": 1, \"AccessKeyId\": \"ASIAPROCESS\", \"SecretAccessKey\": "                     \
    "\"process/secret+VALUE\", \"SessionToken\": \"process-token-value\", \"Expiration\": "        \
    "\"2030-01-01T00:00:00Z\"}"

/* Writes dir/process.sh (executable) with body, and dir/config with a profile
 * [profile sso] whose credential_process runs it; points AWS_CONFIG_FILE there. */
static void write_process(struct fixture *f, const char *body, const char *config_extra)
{
    char script[160], config[160], text[4096];
    snprintf(script, sizeof script, "%s/process.sh", f->dir);
    snprintf(text, sizeof text, "#!/bin/sh\n%s\n", body);
    write_file(script, text);
    assert_int_equal(chmod(script, 0700), 0);
    snprintf(config, sizeof config, "%s/config", f->dir);
    snprintf(text, sizeof text,
             "[default]\nregion = eu-west-1\n\n[profile sso]\nregion = eu-west-2\n"
             "credential_process = %s --profile sso\n%s",
             script, config_extra);
    write_file(config, text);
    setenv("AWS_CONFIG_FILE", config, 1);
    setenv("AWS_PROFILE", "sso", 1);
}

static void test_credential_process(void **state)
{
    struct fixture *f = *state;
    /* The arguments reach the process; its stderr is its own business. */
    write_process(f,
                  "[ \"$1 $2\" = \"--profile sso\" ] || exit 3\necho 'sso: refreshed' >&2\n"
                  "printf '%s' '" PROCESS_DOC "'",
                  "");
    expect_loaded("ASIAPROCESS", "process/secret+VALUE", "process-token-value");

    /* Without SessionToken (long-term keys), and with it null. */
    write_process(f,
                  "echo '{\"Version\": 1, \"AccessKeyId\": \"AKIAP\", \"SecretAccessKey\": "
                  "\"s\", \"SessionToken\": null}'",
                  "");
    expect_loaded("AKIAP", "s", NULL);
}

static void test_credential_process_precedence(void **state)
{
    struct fixture *f = *state;
    /* Static keys in the config file come after the process... */
    write_process(f, "printf '%s' '" PROCESS_DOC "'",
                  "aws_access_key_id = AKIACONFIG\naws_secret_access_key = configsecret\n");
    expect_loaded("ASIAPROCESS", "process/secret+VALUE", "process-token-value");
    /* ...keys in the credentials file before it... */
    write_file(f->path, "[sso]\naws_access_key_id = AKIAFILE\naws_secret_access_key = fs\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", f->path, 1);
    expect_loaded("AKIAFILE", "fs", NULL);
    /* ...and the environment before everything. */
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    expect_loaded("AKIAENV", "envsecret", NULL);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    /* A config profile with keys and no process. */
    write_file(f->path, "");
    char config[160];
    snprintf(config, sizeof config, "%s/config", f->dir);
    write_file(config, "[profile keys]\naws_access_key_id = AKIACONFIG\n"
                       "aws_secret_access_key = configsecret\n[keys]\nregion = x\n");
    setenv("AWS_PROFILE", "keys", 1);
    expect_loaded("AKIACONFIG", "configsecret", NULL);
    /* [default] in the config file serves the default profile. */
    write_file(config, "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = d\n");
    unsetenv("AWS_PROFILE");
    expect_loaded("AKIADEF", "d", NULL);
}

static void test_credential_process_failures(void **state)
{
    struct fixture *f = *state;
    const char *secrets[] = {"process/secret+VALUE", "process-token-value", "leaked-secret",
                             "near-secret", NULL};
    static const struct {
        const char *body, *why;
    } cases[] = {
        {"echo leaked-secret; exit 1", "exited with status 1"},
        {"exec /nonexistent/aws", "exited with status 127"},
        {"echo 'not json near-secret'", "did not print a credentials document"},
        {"echo '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"leaked-secret\"}'",
         "did not print a credentials document"},
        {"echo '{\"Version\": 1, \"AccessKeyId\": \"A\"}'", "did not print a credentials document"},
        {"echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"leaked-secret\", "
         "\"SessionToken\": 5}'",
         "did not print a credentials document"},
        {"exit 255", "exited with status 255"},
        /* A flood is cut off at the bound, not read to the end. */
        {"yes leaked-secret", "printed more than"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_process(f, cases[i].body, "");
        const char *must[] = {"[sso]", cases[i].why, NULL};
        expect_error(must, secrets);
    }
}

static void test_credential_process_timeout(void **state)
{
    struct fixture *f = *state;
    char marker[160], command[400];
    snprintf(marker, sizeof marker, "%s/config", f->dir); /* any path: the child removes it */
    write_file(marker, "");
    /* The child's own child is killed too: it never gets to remove the marker. */
    snprintf(command, sizeof command, "(sleep 2; rm -f %s) & sleep 30", marker);
    struct aws_credentials c;
    struct error err = {0};
    assert_int_equal(credentials_from_process(command, "slow", 200, &c, &err), -1);
    assert_string_equal(err.type, ERR_CONFIG);
    assert_non_null(strstr(err.message, "[slow] did not finish in time"));
    assert_null(c.access_key_id);
    sleep(3);
    assert_int_equal(access(marker, F_OK), 0);
}

/* A FIFO named as the credentials file is refused, not waited on; a NUL byte
 * in a file is refused rather than ending a value there. */
static void test_fifo_and_nul_byte_are_refused(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(mkfifo(f->path, 0600), 0);
    setenv("AWS_SHARED_CREDENTIALS_FILE", f->path, 1);
    const char *fifo[] = {f->path, "FIFO", NULL};
    expect_error(fifo, NULL);
    unlink(f->path);

    static const char text[] = "[default]\naws_access_key_id = AKIANUL\naws_secret_access_key = "
                               "before\0after\n";
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, sizeof text - 1, fp), sizeof text - 1);
    assert_int_equal(fclose(fp), 0);
    const char *nul[] = {f->path, "NUL byte", NULL};
    const char *secrets[] = {"before", NULL};
    expect_error(nul, secrets);
}

/* Credentials whose Expiration has passed are refused, as the AWS CLI does;
 * one to come (in any of the forms the AWS tools write) is used. */
static void test_credential_process_expired(void **state)
{
    struct fixture *f = *state;
    write_process(f,
                  "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIAOLD\", \"SecretAccessKey\": "
                  "\"old-secret-value\", \"Expiration\": \"2001-02-03T04:05:06Z\"}'",
                  "");
    const char *must[] = {"[sso]", "expired", "2001-02-03T04:05:06Z", NULL};
    const char *secrets[] = {"old-secret-value", NULL};
    expect_error(must, secrets);
    write_process(f,
                  "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIANEW\", \"SecretAccessKey\": "
                  "\"s\", \"Expiration\": \"2099-02-03T04:05:06.123+01:00\"}'",
                  "");
    expect_loaded("ASIANEW", "s", NULL);
}

/* SIGTERM while credential_process runs stops the wait at once (Interrupted)
 * and ends the process's whole group: its child never gets to remove the
 * marker. Last in the suite: the signal, once caught, stays caught. */
static void test_credential_process_stopped_by_signal(void **state)
{
    struct fixture *f = *state;
    struct error err = {0};
    assert_int_equal(interrupt_install(&err), 0);
    char marker[160], command[400];
    snprintf(marker, sizeof marker, "%s/config", f->dir);
    write_file(marker, "");
    snprintf(command, sizeof command, "(sleep 2; rm -f %s) & kill -TERM $PPID; sleep 20", marker);
    struct aws_credentials c;
    assert_int_equal(credentials_from_process(command, "sso", 60000, &c, &err), -1);
    interrupt_uninstall();
    assert_string_equal(err.type, ERR_INTERRUPTED);
    assert_null(c.access_key_id);
    sleep(3);
    assert_int_equal(access(marker, F_OK), 0);
}

static void test_clear_is_safe_to_repeat(void **state)
{
    (void)state;
    struct aws_credentials zero = {NULL, NULL, NULL};
    credentials_clear(&zero);
    credentials_clear(NULL);

    setenv("AWS_ACCESS_KEY_ID", "AKIACLEAR", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "clearsecret", 1);
    setenv("AWS_SESSION_TOKEN", "cleartoken", 1);
    struct aws_credentials c;
    struct error err = {0};
    assert_int_equal(load(&c, &err), 0);
    /* The strings are copies: changing the environment does not touch them. */
    setenv("AWS_SECRET_ACCESS_KEY", "changed", 1);
    assert_string_equal(c.secret_access_key, "clearsecret");
    credentials_clear(&c);
    assert_null(c.access_key_id);
    assert_null(c.secret_access_key);
    assert_null(c.session_token);
    credentials_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_wins_over_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_an_environment_pair_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors_name_what_is_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_configured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_file_under_home, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_file_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credential_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credential_process_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credential_process_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credential_process_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clear_is_safe_to_repeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_and_nul_byte_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credential_process_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credential_process_stopped_by_signal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
