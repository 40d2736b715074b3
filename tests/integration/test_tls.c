/* S3 over HTTPS, as in production: the test S3 server behind TLS with a
 * certificate from a throwaway CA (made here with the openssl command), passed
 * to the program with SSL_CERT_FILE. Both builds: the command line
 * ($BCR_BIN, the system's libcurl) and the Lambda package's program
 * (build/package/bootstrap: the lean libcurl, OpenSSL linked in). The
 * certificate must verify: a bundle without the CA fails the run, and nothing
 * is written. The same with a hashed CA directory (SSL_CERT_DIR, the form the
 * program prefers, as OpenSSL then reads only the certificates it looks up):
 * a directory that holds the CA verifies, one that does not fails. OpenSSL's configuration file is
 * never read: OPENSSL_CONF names one that makes OpenSSL's initialisation fail if it is. */
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
#include <unistd.h>

#include "proc.h"
#include "files.h"
#include "gen.h"
#include "s3env.h"
#include "tlsenv.h"

#define BUCKET "tdr-backend-checks-intg"

static struct s3env env;
static bool server_up;
static struct tlsenv tls;                  /* the signing CA, the server's key and certificate */
static char *pki;                          /* their directory, and the files below */
static char other[4200];                   /* a CA that signed nothing */
static char ca_dir[4200], other_dir[4200]; /* hashed directories holding one of them */
static char package_bin[4200];             /* BCR_BIN's directory/package/bootstrap */
static char bad_conf[4300];                /* OPENSSL_CONF=an openssl.cnf that fails to load */

static int group_setup(void **state)
{
    (void)state;
    s3env_isolate_environment();
    /* Each run names its own trust store: none may come from the caller's. */
    unsetenv("SSL_CERT_FILE");
    unsetenv("SSL_CERT_DIR");
    const char *bin = proc_bin();
    const char *slash = strrchr(bin, '/');
    snprintf(package_bin, sizeof package_bin, "%.*s/package/bootstrap",
             slash ? (int)(slash - bin) : 1, slash ? bin : ".");
    if (!s3env_node_available())
        return 0;
    if (!tlsenv_openssl_available())
        return 0;
    pki = files_tmpdir();
    if (tlsenv_start(&tls, pki, &env) != 0 || !tlsenv_make_ca(pki, "other", other, sizeof other) ||
        !tlsenv_make_ca_dir(pki, "ca-dir", tls.ca, ca_dir, sizeof ca_dir) ||
        !tlsenv_make_ca_dir(pki, "other-dir", other, other_dir, sizeof other_dir))
        return -1;
    /* A provider section without a module: loading this file is an error,
     * reported (config_diagnostics) rather than ignored. */
    const char *conf = "config_diagnostics = 1\nopenssl_conf = init\n[init]\nproviders = prov\n"
                       "[prov]\nnosuch = nosuch_sect\n[nosuch_sect]\nactivate = 1\n";
    snprintf(bad_conf, sizeof bad_conf, "OPENSSL_CONF=%s/bad.cnf", pki);
    files_write(bad_conf + strlen("OPENSSL_CONF="), conf, strlen(conf));
    server_up = true;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    s3env_stop(&env);
    if (pki) {
        files_rmtree(pki);
        free(pki);
    }
    return 0;
}

/* A fresh 20-entry export in the server; its event in event_path. */
static void upload_export(const char *root, char *event_path, size_t cap,
                          struct gen_export_info *info)
{
    char store[4200];
    snprintf(store, sizeof store, "%s/store", root);
    struct gen_export_spec spec = {.bucket = BUCKET, .entries = 20, .files = 2, .seed = 7};
    gen_export(store, &spec, NULL, info);
    assert_int_equal(s3env_upload_tree(&env, store), 2 + 1);
    snprintf(event_path, cap, "%s/event.json", root);
    files_write(event_path, info->event, strlen(info->event));
}

/* Runs program with the trust store var=path (SSL_CERT_FILE or SSL_CERT_DIR). */
static void run(const char *program, const char *var, const char *path, const char *event_path,
                struct proc_result *res)
{
    char trust[4300];
    snprintf(trust, sizeof trust, "%s=%s", var, path);
    char *extra[] = {trust, bad_conf, NULL};
    char *argv[] = {(char *)program, "--endpoint-url", env.endpoint, (char *)event_path, NULL};
    proc_run(argv, NULL, s3env_env(&env, extra), 120, res);
}

/* Number of objects under the consignment's prefix (the export's own files
 * are under the same consignment: results.json is the extra one). */
static int objects_under(const char *consignment)
{
    char **keys = NULL;
    int n = s3env_list(&env, BUCKET, consignment, &keys);
    s3env_free_keys(keys);
    return n;
}

/* var names the trust store; good holds the signing CA, bad does not. */
static void https_round_trip(const char *program, const char *var, const char *good,
                             const char *bad)
{
    char *root = files_tmpdir();
    char event_path[4200];
    struct gen_export_info info;
    upload_export(root, event_path, sizeof event_path, &info);
    int before = objects_under(info.consignment_id);
    assert_true(before > 0);

    /* A bundle that lacks the signing CA: the handshake fails, nothing is written. */
    struct proc_result res;
    run(program, var, bad, event_path, &res);
    if (res.status == 0)
        fprintf(stderr, "%s trusted a certificate it has no CA for: %s\n", program, res.out);
    assert_int_not_equal(res.status, 0);
    assert_non_null(strstr(res.err, "certificate"));
    proc_result_free(&res);
    assert_int_equal(objects_under(info.consignment_id), before);

    /* The right CA: results.json is written and holds every entry, its body
     * left out of the signature (TLS protects it) and checked by its CRC-32C. */
    long unsigned_before = s3env_stat(&env, "unsigned_payloads");
    long checked_before = s3env_stat(&env, "checksums_checked");
    run(program, var, good, event_path, &res);
    if (res.status != 0)
        fprintf(stderr, "%s over HTTPS: exit %d\n%s\n", program, res.status, res.err);
    assert_int_equal(res.status, 0);
    json_t *reply = json_loads(res.out, 0, NULL);
    assert_non_null(reply);
    size_t len = 0;
    char *body = s3env_get(&env, BUCKET, json_string_value(json_object_get(reply, "key")), &len);
    assert_non_null(body);
    json_t *doc = json_loadb(body, len, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "results")), 20);
    json_decref(doc);
    free(body);
    json_decref(reply);
    proc_result_free(&res);
    assert_int_equal(objects_under(info.consignment_id), before + 1);
    assert_int_equal(s3env_stat(&env, "unsigned_payloads"), unsigned_before + 1);
    assert_int_equal(s3env_stat(&env, "checksums_checked"), checked_before + 1);
    assert_int_equal(s3env_stat(&env, "signature_failures"), 0);
    files_rmtree(root);
    free(root);
}

static void test_command_line_over_https(void **state)
{
    (void)state;
    if (!server_up)
        skip();
    https_round_trip(proc_bin(), "SSL_CERT_FILE", tls.ca, other);
    https_round_trip(proc_bin(), "SSL_CERT_DIR", ca_dir, other_dir);
}

static void test_package_program_over_https(void **state)
{
    (void)state;
    if (!server_up)
        skip();
    if (access(package_bin, X_OK) != 0) {
        fprintf(stderr, "test_tls: %s is missing (make package)\n", package_bin);
        skip();
    }
    https_round_trip(package_bin, "SSL_CERT_FILE", tls.ca, other);
    https_round_trip(package_bin, "SSL_CERT_DIR", ca_dir, other_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_line_over_https),
        cmocka_unit_test(test_package_program_over_https),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
