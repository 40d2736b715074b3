#define _POSIX_C_SOURCE 200809L
#include "tlsenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "proc.h"

/* Runs openssl with args (NULL-terminated); true if it exits 0. */
static bool openssl(const char *const args[])
{
    char *argv[32] = {TLSENV_OPENSSL};
    int n = 1;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    return proc_run_ok(argv, 60, "tlsenv");
}

bool tlsenv_openssl_available(void)
{
    if (access(TLSENV_OPENSSL, X_OK) == 0)
        return true;
    fprintf(stderr, "tlsenv: %s is not installed (scripts/install-deps.sh)\n", TLSENV_OPENSSL);
    return false;
}

bool tlsenv_make_ca(const char *dir, const char *name, char *pem, size_t cap)
{
    char key[PATH_MAX];
    snprintf(pem, cap, "%s/%s.pem", dir, name);
    snprintf(key, sizeof key, "%s/%s.key", dir, name);
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

bool tlsenv_make_ca_dir(const char *dir, const char *name, const char *pem, char *out, size_t cap)
{
    char copy[PATH_MAX + 8];
    snprintf(out, cap, "%s/%s", dir, name);
    snprintf(copy, sizeof copy, "%s/ca.pem", out);
    if (mkdir(out, 0700) != 0)
        return false;
    size_t len = 0;
    char *text = files_read(pem, &len);
    if (!text)
        return false;
    files_write(copy, text, len);
    free(text);
    const char *args[] = {"rehash", out, NULL};
    return openssl(args);
}

/* The server's certificate for 127.0.0.1 and localhost, signed by t's CA. */
static bool make_server_cert(struct tlsenv *t, const char *dir)
{
    char csr[PATH_MAX], ext[PATH_MAX];
    snprintf(t->cert, sizeof t->cert, "%s/server.pem", dir);
    snprintf(t->key, sizeof t->key, "%s/server.key", dir);
    snprintf(csr, sizeof csr, "%s/server.csr", dir);
    snprintf(ext, sizeof ext, "%s/server.ext", dir);
    const char *text = "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                       "extendedKeyUsage=serverAuth\n";
    files_write(ext, text, strlen(text));
    const char *req[] = {"req",    "-newkey",       "ec",   "-pkeyopt", "ec_paramgen_curve:P-256",
                         "-nodes", "-keyout",       t->key, "-out",     csr,
                         "-subj",  "/CN=127.0.0.1", NULL};
    const char *sign[] = {
        "x509", "-req",  "-in",   csr, "-CA",      t->ca, "-CAkey", t->ca_key, "-CAcreateserial",
        "-out", t->cert, "-days", "2", "-extfile", ext,   NULL};
    return openssl(req) && openssl(sign);
}

int tlsenv_start(struct tlsenv *t, const char *dir, struct s3env *e)
{
    memset(t, 0, sizeof *t);
    snprintf(t->ca_key, sizeof t->ca_key, "%s/ca.key", dir);
    if (!tlsenv_make_ca(dir, "ca", t->ca, sizeof t->ca) || !make_server_cert(t, dir))
        return -1;
    struct s3env_options o = {.tls_cert = t->cert, .tls_key = t->key, .tls_ca = t->ca};
    return s3env_start(e, &o);
}
