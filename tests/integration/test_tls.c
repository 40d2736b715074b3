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

#define BUCKET "tdr-backend-checks-intg"
#define OPENSSL "/usr/bin/openssl"

static struct s3env env;
static bool server_up;
static char *pki;                          /* the CAs, the server's key and certificate */
static char ca[4200], other[4200];         /* the signing CA; a CA that signed nothing */
static char ca_dir[4200], other_dir[4200]; /* hashed directories holding one of them */
static char package_bin[4200];             /* BCR_BIN's directory/package/bootstrap */
static char bad_conf[4300];                /* OPENSSL_CONF=an openssl.cnf that fails to load */

static bool openssl(const char *const args[])
{
    char *argv[32] = {OPENSSL};
    int n = 1;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    struct proc_result res;
    proc_run(argv, NULL, NULL, 60, &res);
    bool ok = res.status == 0;
    if (!ok)
        fprintf(stderr, "test_tls: openssl %s failed: %s\n", args[0], res.err);
    proc_result_free(&res);
    return ok;
}

/* A self-signed CA (P-256) in DIR/NAME.pem and DIR/NAME.key. */
static bool make_ca(const char *name, char *pem, size_t cap)
{
    char key[4200];
    snprintf(pem, cap, "%s/%s.pem", pki, name);
    snprintf(key, sizeof key, "%s/%s.key", pki, name);
    const char *args[] = {"req",
                          "-x509",
                          "-newkey",
                          "ec",
                          "-pkeyopt",
                          "ec_paramgen_curve:P-256",
                          "-nodes",
                          "-keyout",
                          key,
                          "-out",
                          pem,
                          "-days",
                          "2",
                          "-subj",
                          "/CN=backend-checks-results test CA",
                          "-addext",
                          "basicConstraints=critical,CA:TRUE",
                          "-addext",
                          "keyUsage=critical,keyCertSign,cRLSign",
                          NULL};
    return openssl(args);
}

/* A hashed CA directory DIR/NAME holding a copy of the certificate pem
 * (openssl rehash makes its HASH.0 link). */
static bool make_ca_dir(const char *name, const char *pem, char *dir, size_t cap)
{
    char copy[4300];
    snprintf(dir, cap, "%s/%s", pki, name);
    snprintf(copy, sizeof copy, "%s/ca.pem", dir);
    if (mkdir(dir, 0700) != 0)
        return false;
    size_t len = 0;
    char *text = files_read(pem, &len);
    files_write(copy, text, len);
    free(text);
    const char *args[] = {"rehash", dir, NULL};
    return openssl(args);
}

/* The server's certificate for 127.0.0.1, signed by the CA. */
static bool make_server_cert(char *cert, char *key, size_t cap)
{
    char csr[4200], ext[4200], ca_key[4200];
    snprintf(cert, cap, "%s/server.pem", pki);
    snprintf(key, cap, "%s/server.key", pki);
    snprintf(csr, sizeof csr, "%s/server.csr", pki);
    snprintf(ext, sizeof ext, "%s/server.ext", pki);
    snprintf(ca_key, sizeof ca_key, "%s/ca.key", pki);
    const char *text = "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                       "extendedKeyUsage=serverAuth\n";
    files_write(ext, text, strlen(text));
    const char *req[] = {"req",    "-newkey",       "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                         "-nodes", "-keyout",       key,  "-out",     csr,
                         "-subj",  "/CN=127.0.0.1", NULL};
    const char *sign[] = {
        "x509", "-req", "-in",   csr, "-CA",      ca,  "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert,   "-days", "2", "-extfile", ext, NULL};
    return openssl(req) && openssl(sign);
}

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
    if (access(OPENSSL, X_OK) != 0) {
        fprintf(stderr, "test_tls: %s is not installed (scripts/install-deps.sh)\n", OPENSSL);
        return 0;
    }
    pki = files_tmpdir();
    char cert[4200], key[4200];
    if (!make_ca("ca", ca, sizeof ca) || !make_ca("other", other, sizeof other) ||
        !make_server_cert(cert, key, sizeof cert) ||
        !make_ca_dir("ca-dir", ca, ca_dir, sizeof ca_dir) ||
        !make_ca_dir("other-dir", other, other_dir, sizeof other_dir))
        return -1;
    /* A provider section without a module: loading this file is an error,
     * reported (config_diagnostics) rather than ignored. */
    const char *conf = "config_diagnostics = 1\nopenssl_conf = init\n[init]\nproviders = prov\n"
                       "[prov]\nnosuch = nosuch_sect\n[nosuch_sect]\nactivate = 1\n";
    snprintf(bad_conf, sizeof bad_conf, "OPENSSL_CONF=%s/bad.cnf", pki);
    files_write(bad_conf + strlen("OPENSSL_CONF="), conf, strlen(conf));
    struct s3env_options o = {.tls_cert = cert, .tls_key = key, .tls_ca = ca};
    if (s3env_start(&env, &o) != 0)
        return -1;
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

    /* The right CA: results.json is written and holds every entry. */
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
    files_rmtree(root);
    free(root);
}

static void test_command_line_over_https(void **state)
{
    (void)state;
    if (!server_up)
        skip();
    https_round_trip(proc_bin(), "SSL_CERT_FILE", ca, other);
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
    https_round_trip(package_bin, "SSL_CERT_FILE", ca, other);
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
