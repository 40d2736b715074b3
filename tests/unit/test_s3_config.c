/* S3 configuration: region and endpoint precedence, endpoint parsing, the
 * environment tunables, CA bundle selection, and where each request goes
 * (virtual-hosted or path style, odd keys encoded once and never tidied). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "s3/config.h"

static const char *const vars[] = {
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "AWS_MAX_ATTEMPTS",
    "BCR_S3_PART_SIZE",
    "BCR_S3_LOW_SPEED_LIMIT",
    "BCR_S3_LOW_SPEED_TIME",
    "BCR_S3_CONNECT_TIMEOUT_MS",
    "AWS_CONFIG_FILE",
    "AWS_PROFILE",
    "HOME",
    "BCR_EXPECTED_BUCKET_OWNER",
};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
    return 0;
}

static void test_region_precedence(void **state)
{
    (void)state;
    struct s3_config c;
    struct error err = {0};
    assert_int_equal(s3_config_resolve(&c, NULL, NULL, &err), -1);
    assert_string_equal(err.type, ERR_CONFIG);
    assert_non_null(strstr(err.message, "AWS_REGION"));

    setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
    assert_int_equal(s3_config_resolve(&c, NULL, NULL, &err), 0);
    assert_string_equal(c.region, "eu-west-1");
    setenv("AWS_REGION", "", 1); /* empty counts as unset */
    assert_int_equal(s3_config_resolve(&c, NULL, NULL, &err), 0);
    assert_string_equal(c.region, "eu-west-1");
    setenv("AWS_REGION", "eu-west-2", 1);
    assert_int_equal(s3_config_resolve(&c, NULL, NULL, &err), 0);
    assert_string_equal(c.region, "eu-west-2");
    assert_int_equal(s3_config_resolve(&c, "us-east-1", NULL, &err), 0);
    assert_string_equal(c.region, "us-east-1");
    assert_int_equal(s3_config_resolve(&c, "", NULL, &err), 0);
    assert_string_equal(c.region, "eu-west-2");
    assert_int_equal(s3_config_resolve(&c, "EU West/2", NULL, &err), -1);
    assert_string_equal(err.type, ERR_CONFIG);
}

/* BCR_EXPECTED_BUCKET_OWNER: an account id or nothing. */
static void test_expected_bucket_owner(void **state)
{
    (void)state;
    struct s3_config c;
    struct error err = {0};
    assert_int_equal(s3_config_resolve(&c, "eu-west-2", NULL, &err), 0);
    assert_string_equal(c.expected_bucket_owner, "");
    setenv("BCR_EXPECTED_BUCKET_OWNER", "123456789012", 1);
    assert_int_equal(s3_config_resolve(&c, "eu-west-2", NULL, &err), 0);
    assert_string_equal(c.expected_bucket_owner, "123456789012");
    const char *bad[] = {"12345678901", "1234567890123", "12345678901a", " 123456789012"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("BCR_EXPECTED_BUCKET_OWNER", bad[i], 1);
        assert_int_equal(s3_config_resolve(&c, "eu-west-2", NULL, &err), -1);
        assert_string_equal(err.type, ERR_CONFIG);
        assert_non_null(strstr(err.message, "BCR_EXPECTED_BUCKET_OWNER"));
    }
}

/* The profile's region in the config file comes after both variables. */
static void test_region_from_profile(void **state)
{
    (void)state;
    char dir[] = "/tmp/bcr-s3cfg-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/config", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("[default]\nregion = eu-west-1\n[profile intg]\n  region=eu-west-2\n"
          "[profile none]\noutput = json\n",
          fp);
    fclose(fp);
    setenv("AWS_CONFIG_FILE", path, 1);
    struct s3_config c;
    struct error err = {0};
    assert_int_equal(s3_config_resolve(&c, NULL, NULL, &err), 0);
    assert_string_equal(c.region, "eu-west-1");
    setenv("AWS_PROFILE", "intg", 1);
    assert_int_equal(s3_config_resolve(&c, NULL, NULL, &err), 0);
    assert_string_equal(c.region, "eu-west-2");
    setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
    assert_int_equal(s3_config_resolve(&c, NULL, NULL, &err), 0);
    assert_string_equal(c.region, "us-east-1");
    unsetenv("AWS_DEFAULT_REGION");
    setenv("AWS_PROFILE", "none", 1);
    assert_int_equal(s3_config_resolve(&c, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.message, "config file"));
    unlink(path);
    rmdir(dir);
}

static void test_defaults(void **state)
{
    (void)state;
    struct s3_config c;
    struct error err = {0};
    assert_int_equal(s3_config_resolve(&c, "eu-west-2", NULL, &err), 0);
    assert_false(c.custom_endpoint);
    assert_true(c.https);
    assert_int_equal(c.max_attempts, 3);
    assert_int_equal(c.part_size, 8 << 20);
    assert_int_equal(c.low_speed_limit, 1024);
    assert_int_equal(c.low_speed_time, 10);
    assert_int_equal(c.connect_timeout_ms, 5000);
}

static void test_endpoint_precedence_and_parsing(void **state)
{
    (void)state;
    struct s3_config c;
    struct error err = {0};
    setenv("AWS_ENDPOINT_URL", "http://generic:1", 1);
    assert_int_equal(s3_config_resolve(&c, "r1", NULL, &err), 0);
    assert_true(c.custom_endpoint);
    assert_false(c.https);
    assert_string_equal(c.authority, "generic:1");
    setenv("AWS_ENDPOINT_URL_S3", "https://s3specific:2/", 1);
    assert_int_equal(s3_config_resolve(&c, "r1", NULL, &err), 0);
    assert_true(c.https);
    assert_string_equal(c.authority, "s3specific:2");
    assert_string_equal(c.base_path, "");
    assert_int_equal(s3_config_resolve(&c, "r1", "http://127.0.0.1:4569/base/path//", &err), 0);
    assert_string_equal(c.authority, "127.0.0.1:4569");
    assert_string_equal(c.base_path, "/base/path");
    assert_int_equal(s3_config_resolve(&c, "r1", "HTTP://[::1]:9000", &err), 0);
    assert_string_equal(c.authority, "[::1]:9000");

    const char *bad[] = {"ftp://h",      "h:9000",        "http://",   "http:///path",
                         "http://u:p@h", "http://h/?q=1", "http://h#f"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        error_clear(&err);
        assert_int_equal(s3_config_resolve(&c, "r1", bad[i], &err), -1);
        assert_string_equal(err.type, ERR_CONFIG);
    }
}

static void test_tunables(void **state)
{
    (void)state;
    struct s3_config c;
    struct error err = {0};
    setenv("AWS_MAX_ATTEMPTS", "5", 1);
    setenv("BCR_S3_PART_SIZE", "65536", 1);
    setenv("BCR_S3_LOW_SPEED_TIME", "2", 1);
    setenv("BCR_S3_LOW_SPEED_LIMIT", "100", 1);
    setenv("BCR_S3_CONNECT_TIMEOUT_MS", "250", 1);
    assert_int_equal(s3_config_resolve(&c, "r1", NULL, &err), 0);
    assert_int_equal(c.max_attempts, 5);
    assert_int_equal(c.part_size, 65536);
    assert_int_equal(c.low_speed_time, 2);
    assert_int_equal(c.low_speed_limit, 100);
    assert_int_equal(c.connect_timeout_ms, 250);

    const struct {
        const char *name, *value;
    } bad[] = {{"AWS_MAX_ATTEMPTS", "0"},          {"AWS_MAX_ATTEMPTS", "three"},
               {"AWS_MAX_ATTEMPTS", "3x"},         {"AWS_MAX_ATTEMPTS", "101"},
               {"BCR_S3_PART_SIZE", "0"},          {"BCR_S3_PART_SIZE", "-5"},
               {"BCR_S3_PART_SIZE", "6000000000"}, {"BCR_S3_LOW_SPEED_TIME", "0"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        clear_env(NULL);
        setenv(bad[i].name, bad[i].value, 1);
        error_clear(&err);
        assert_int_equal(s3_config_resolve(&c, "r1", NULL, &err), -1);
        assert_string_equal(err.type, ERR_CONFIG);
        assert_non_null(strstr(err.message, bad[i].name));
    }
}

static char *temp_file(void)
{
    char *path = mem_check(strdup("/tmp/test_s3_config.XXXXXX"));
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    return path;
}

static void test_ca_bundle(void **state)
{
    (void)state;
    char out[S3_CA_PATH_MAX];
    struct error err = {0};
    char *a = temp_file(), *b = temp_file();
    const char *candidates[] = {"/nonexistent/one.pem", a, b, NULL};
    assert_int_equal(s3_ca_bundle_select(NULL, candidates, out, sizeof out, &err), 0);
    assert_string_equal(out, a);
    assert_int_equal(s3_ca_bundle_select("", candidates, out, sizeof out, &err), 0);
    assert_string_equal(out, a);
    assert_int_equal(s3_ca_bundle_select(b, candidates, out, sizeof out, &err), 0);
    assert_string_equal(out, b);
    /* SSL_CERT_FILE names a file that is not there: say so, don't fall back. */
    assert_int_equal(s3_ca_bundle_select("/nonexistent/x.pem", candidates, out, sizeof out, &err),
                     -1);
    assert_string_equal(err.type, ERR_CONFIG);
    assert_int_equal(s3_ca_bundle_select("/tmp", candidates, out, sizeof out, &err), -1);
    /* One too big to be a bundle (its parsing would be taken for a slow server). */
    assert_int_equal(truncate(b, S3_CA_BUNDLE_MAX + 1), 0);
    assert_int_equal(s3_ca_bundle_select(b, candidates, out, sizeof out, &err), -1);
    assert_string_equal(err.type, ERR_CONFIG);
    assert_non_null(strstr(err.message, "too big to be a CA bundle"));
    assert_int_equal(truncate(b, S3_CA_BUNDLE_MAX), 0);
    assert_int_equal(s3_ca_bundle_select(b, candidates, out, sizeof out, &err), 0);
    assert_int_equal(truncate(b, 0), 0);
    const char *none[] = {"/nonexistent/one.pem", "/tmp", NULL};
    assert_int_equal(s3_ca_bundle_select(NULL, none, out, sizeof out, &err), 0);
    assert_string_equal(out, "");
    /* The built-in list starts with Debian's and has Amazon Linux's. */
    assert_string_equal(s3_ca_bundle_candidates[0], "/etc/ssl/certs/ca-certificates.crt");
    assert_string_equal(s3_ca_bundle_candidates[1], "/etc/pki/tls/certs/ca-bundle.crt");
    /* The environment variable is what resolve uses. */
    struct s3_config c;
    setenv("SSL_CERT_FILE", b, 1);
    assert_int_equal(s3_config_resolve(&c, "r1", NULL, &err), 0);
    assert_string_equal(c.ca_bundle, b);
    setenv("SSL_CERT_FILE", "/nonexistent/x.pem", 1);
    assert_int_equal(s3_config_resolve(&c, "r1", NULL, &err), -1);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
}

static void test_ca_dir(void **state)
{
    (void)state;
    char out[S3_CA_PATH_MAX], link[S3_CA_PATH_MAX + 16];
    struct error err = {0};
    char plain[] = "/tmp/test_s3_config.XXXXXX", hashed[] = "/tmp/test_s3_config.XXXXXX";
    assert_non_null(mkdtemp(plain));
    assert_non_null(mkdtemp(hashed));
    /* Certificates without hash links are not a directory OpenSSL can look up. */
    snprintf(link, sizeof link, "%s/ca.pem", plain);
    FILE *f = fopen(link, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(link, sizeof link, "%s/0a1b2c3d.0", hashed);
    assert_int_equal(symlink("ca.pem", link), 0);
    const char *candidates[] = {"/nonexistent", plain, hashed, NULL};
    assert_int_equal(s3_ca_dir_select(NULL, candidates, out, sizeof out, &err), 0);
    assert_string_equal(out, hashed);
    assert_int_equal(s3_ca_dir_select("", candidates, out, sizeof out, &err), 0);
    assert_string_equal(out, hashed);
    const char *none[] = {"/nonexistent", plain, NULL};
    assert_int_equal(s3_ca_dir_select(NULL, none, out, sizeof out, &err), 0);
    assert_string_equal(out, "");
    /* SSL_CERT_DIR is taken as given; one that is not a directory is an error. */
    assert_int_equal(s3_ca_dir_select(plain, candidates, out, sizeof out, &err), 0);
    assert_string_equal(out, plain);
    assert_int_equal(s3_ca_dir_select("/nonexistent/certs", candidates, out, sizeof out, &err), -1);
    assert_string_equal(err.type, ERR_CONFIG);
    assert_non_null(strstr(err.message, "SSL_CERT_DIR=/nonexistent/certs"));
    snprintf(link, sizeof link, "%s/ca.pem", plain);
    assert_int_equal(s3_ca_dir_select(link, candidates, out, sizeof out, &err), -1);
    /* resolve: SSL_CERT_DIR takes the place of a bundle; SSL_CERT_FILE wins over both. */
    struct s3_config c;
    setenv("SSL_CERT_DIR", hashed, 1);
    assert_int_equal(s3_config_resolve(&c, "r1", NULL, &err), 0);
    assert_string_equal(c.ca_dir, hashed);
    assert_string_equal(c.ca_bundle, "");
    setenv("SSL_CERT_FILE", link, 1);
    assert_int_equal(s3_config_resolve(&c, "r1", NULL, &err), 0);
    assert_string_equal(c.ca_dir, "");
    assert_string_equal(c.ca_bundle, link);
    unsetenv("SSL_CERT_FILE");
    setenv("SSL_CERT_DIR", "/nonexistent/certs", 1);
    assert_int_equal(s3_config_resolve(&c, "r1", NULL, &err), -1);
    /* The built-in list starts with Amazon Linux's (Lambda's) hashed directory. */
    assert_string_equal(s3_ca_dir_candidates[0], "/etc/pki/ca-trust/extracted/pem/directory-hash");
    unlink(link);
    snprintf(link, sizeof link, "%s/0a1b2c3d.0", hashed);
    unlink(link);
    rmdir(plain);
    rmdir(hashed);
}

static void test_virtual_hostable(void **state)
{
    (void)state;
    char longest[64], too_long[65];
    memset(longest, 'a', 63);
    longest[63] = '\0';
    memset(too_long, 'a', 64);
    too_long[64] = '\0';
    assert_true(s3_bucket_is_virtual_hostable("tdr-backend-checks-intg"));
    assert_true(s3_bucket_is_virtual_hostable("abc"));
    assert_true(s3_bucket_is_virtual_hostable("1b2"));
    assert_true(s3_bucket_is_virtual_hostable(longest));
    assert_false(s3_bucket_is_virtual_hostable(too_long));
    assert_false(s3_bucket_is_virtual_hostable("ab"));
    assert_false(s3_bucket_is_virtual_hostable("my.bucket"));
    assert_false(s3_bucket_is_virtual_hostable("MyBucket"));
    assert_false(s3_bucket_is_virtual_hostable("-abc"));
    assert_false(s3_bucket_is_virtual_hostable("abc-"));
    assert_false(s3_bucket_is_virtual_hostable("a_b"));
}

static struct s3_config aws(const char *region)
{
    struct s3_config c;
    struct error err;
    assert_int_equal(s3_config_resolve(&c, region, NULL, &err), 0);
    return c;
}

static void test_target_aws(void **state)
{
    (void)state;
    struct s3_config c = aws("eu-west-2");
    struct s3_target t;
    struct error err = {0};
    assert_int_equal(
        s3_target_build(&c, "tdr-backend-checks-intg", "c1/u2/results.json", NULL, &t, &err), 0);
    assert_string_equal(t.host, "tdr-backend-checks-intg.s3.eu-west-2.amazonaws.com");
    assert_string_equal(t.path, "/c1/u2/results.json");
    assert_string_equal(t.url, "https://tdr-backend-checks-intg.s3.eu-west-2.amazonaws.com/c1/u2/"
                               "results.json");
    /* Dots would not match the wildcard certificate: path style. */
    assert_int_equal(s3_target_build(&c, "my.dotted.bucket", "k", "uploads=", &t, &err), 0);
    assert_string_equal(t.host, "s3.eu-west-2.amazonaws.com");
    assert_string_equal(t.path, "/my.dotted.bucket/k");
    assert_string_equal(t.url, "https://s3.eu-west-2.amazonaws.com/my.dotted.bucket/k?uploads=");
    c = aws("cn-north-1");
    assert_int_equal(s3_target_build(&c, "bucket", "k", "", &t, &err), 0);
    assert_string_equal(t.url, "https://bucket.s3.cn-north-1.amazonaws.com.cn/k");
}

static void test_target_custom_endpoint_and_odd_keys(void **state)
{
    (void)state;
    struct s3_config c;
    struct s3_target t;
    struct error err = {0};
    assert_int_equal(s3_config_resolve(&c, "us-east-1", "http://127.0.0.1:4569", &err), 0);
    /* Custom endpoints are always path style, even for DNS-safe buckets. */
    assert_int_equal(s3_target_build(&c, "tdr-backend-checks-intg", "a b/../c//d+\xC3\xA9?#%~_-.",
                                     "partNumber=1&uploadId=x", &t, &err),
                     0);
    assert_string_equal(t.host, "127.0.0.1:4569");
    assert_string_equal(t.path, "/tdr-backend-checks-intg/a%20b/../c//d%2B%C3%A9%3F%23%25~_-.");
    assert_string_equal(t.url, "http://127.0.0.1:4569/tdr-backend-checks-intg/a%20b/../c//"
                               "d%2B%C3%A9%3F%23%25~_-.?partNumber=1&uploadId=x");
    assert_int_equal(s3_config_resolve(&c, "us-east-1", "https://minio:9000/base/", &err), 0);
    assert_int_equal(s3_target_build(&c, "b", "/leading", NULL, &t, &err), 0);
    assert_string_equal(t.path, "/base/b//leading");
    assert_string_equal(t.url, "https://minio:9000/base/b//leading");
    /* A bucket with odd characters is encoded, slash included. */
    assert_int_equal(s3_target_build(&c, "a/b", "k", NULL, &t, &err), 0);
    assert_string_equal(t.path, "/base/a%2Fb/k");
}

static void test_target_invalid(void **state)
{
    (void)state;
    struct s3_config c = aws("eu-west-2");
    struct s3_target t;
    struct error err = {0};
    assert_int_equal(s3_target_build(&c, "b", "", NULL, &t, &err), -1);
    assert_string_equal(err.type, ERR_INVALID_KEY);
    assert_int_equal(s3_target_build(&c, "", "k", NULL, &t, &err), -1);
    assert_string_equal(err.type, ERR_INVALID_KEY);
    char *key = mem_check(malloc(3000));
    memset(key, '%', 2999); /* 3 bytes each once encoded */
    key[2999] = '\0';
    assert_int_equal(s3_target_build(&c, "bucket", key, NULL, &t, &err), -1);
    assert_string_equal(err.type, ERR_INVALID_KEY);
    memset(key, 'k', 1024); /* S3's longest key fits */
    key[1024] = '\0';
    assert_int_equal(s3_target_build(&c, "bucket", key, "uploadId=abc", &t, &err), 0);
    free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_region_precedence, clear_env),
        cmocka_unit_test_setup(test_region_from_profile, clear_env),
        cmocka_unit_test_setup(test_expected_bucket_owner, clear_env),
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_endpoint_precedence_and_parsing, clear_env),
        cmocka_unit_test_setup(test_tunables, clear_env),
        cmocka_unit_test_setup(test_ca_bundle, clear_env),
        cmocka_unit_test_setup(test_ca_dir, clear_env),
        cmocka_unit_test_setup(test_virtual_hostable, clear_env),
        cmocka_unit_test_setup(test_target_aws, clear_env),
        cmocka_unit_test_setup(test_target_custom_endpoint_and_odd_keys, clear_env),
        cmocka_unit_test_setup(test_target_invalid, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
