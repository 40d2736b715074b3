/* tlsenv: the test S3 server (s3env) over HTTPS, as in production, with a
 * throwaway PKI made by the openssl command: a CA (P-256, two days) and a
 * certificate for 127.0.0.1 and localhost signed by it. Also further CAs and
 * hashed CA directories (SSL_CERT_DIR's form), to show what must not verify.
 *
 * Guarantees: every file lives in the directory the caller gives (and
 * removes); the server's control helpers trust the CA, the program under test
 * only what its environment names (SSL_CERT_FILE, SSL_CERT_DIR). A failing
 * openssl step prints its stderr and makes the call return false / -1.
 * All paths are borrowed; the struct holds its own copies. */
#ifndef BCR_TEST_TLSENV_H
#define BCR_TEST_TLSENV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "s3env.h"

#define TLSENV_OPENSSL "/usr/bin/openssl"

struct tlsenv {
    char ca[PATH_MAX];     /* the signing CA's certificate (PEM) */
    char ca_key[PATH_MAX]; /* its key */
    char cert[PATH_MAX];   /* the server's certificate and key */
    char key[PATH_MAX];
};

/* True if TLSENV_OPENSSL runs; otherwise says so on stderr. */
bool tlsenv_openssl_available(void);

/* A self-signed CA in DIR/NAME.pem and DIR/NAME.key; its certificate's path
 * in pem (cap bytes). */
bool tlsenv_make_ca(const char *dir, const char *name, char *pem, size_t cap);

/* A hashed CA directory DIR/NAME holding a copy of the certificate pem
 * (openssl rehash makes its HASH.0 link); its path in out (cap bytes). */
bool tlsenv_make_ca_dir(const char *dir, const char *name, const char *pem, char *out, size_t cap);

/* Makes the CA ("ca") and the server's certificate in dir, then starts e
 * over HTTPS with them (s3env_start; stop with s3env_stop). 0, or -1 after
 * saying why on stderr. */
int tlsenv_start(struct tlsenv *t, const char *dir, struct s3env *e);

#endif
