/* s3env: a real S3 server for the integration tests.
 *
 * Starts tests/s3/server.js: s3rver on a loopback port, behind a proxy (the
 * endpoint the product talks to) that verifies every request's SigV4
 * signature, payload hash and Content-MD5 as S3 does, emulates what s3rver
 * lacks (AbortMultipartUpload, ListMultipartUploads, If-Match, part checks on
 * CompleteMultipartUpload), and injects faults by rule. The helpers here talk
 * to s3rver directly (no signature) to seed and inspect buckets, and to the
 * proxy's /__control/ endpoints for faults and statistics.
 *
 * Typical use in a cmocka group:
 *     static struct s3env env;
 *     group setup:    if (!s3env_node_available()) -> tests skip();
 *                     else s3env_start(&env, NULL) (0 or -1, message printed)
 *     group teardown: s3env_stop(&env)  (also safe if start failed)
 *     a test:         s3env_upload_tree(&env, root); s3env_set_faults(&env, "[...]");
 *                     proc_run(argv, NULL, s3env_env(&env, extra), ...);
 *                     s3env_get(&env, bucket, key, &len); s3env_count_uploads(&env, prefix) ...
 * The server also exits by itself when the test process dies (its stdin is a
 * pipe held by this process, closed on exit). */
#ifndef BCR_TEST_S3ENV_H
#define BCR_TEST_S3ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct s3env_options {
    const char *access_key;    /* default S3ENV_ACCESS_KEY */
    const char *secret_key;    /* default S3ENV_SECRET_KEY */
    const char *session_token; /* NULL: none accepted */
    const char *region;        /* default "eu-west-2" */
    long min_part_size;        /* 0: S3's own 5 MiB (EntityTooSmall below it) */
    const char *faults_json;   /* initial fault rules (see server.js), or NULL */
    const char *tls_cert;      /* with tls_key: the endpoint is HTTPS with this PEM */
    const char *tls_key;       /* certificate and key; NULL: plain HTTP */
    const char *tls_ca;        /* the CA of tls_cert: the control helpers verify with it */
};

#define S3ENV_ACCESS_KEY "AKIATESTBCR000000001"
#define S3ENV_SECRET_KEY "test/secret+KEY=0123456789abcdefABCDEF"

enum { S3ENV_ENV_MAX = 40 };

struct s3env {
    bool running;
    pid_t pid;
    int stdin_fd; /* write end of the server's stdin; closing it stops the server */
    int stdout_fd;
    int proxy_port, s3_port;
    char dir[1024];    /* s3rver's storage directory */
    char endpoint[64]; /* http(s)://127.0.0.1:PROXY, for --endpoint-url */
    char direct[64];   /* http://127.0.0.1:S3, s3rver itself */
    char access_key[128];
    char secret_key[128];
    char session_token[2048];
    char region[64];
    /* s3env_env's result */
    char *envp[S3ENV_ENV_MAX];
    char env_text[8192];
};

/* Unsets every variable of the caller's environment that could steer the
 * program under test elsewhere (profiles, endpoints, region, retries, tunables,
 * log settings, the Runtime API, HTTP proxies). Call in group setup. */
void s3env_isolate_environment(void);

/* True if `node` runs; otherwise prints why (once) on stderr. */
bool s3env_node_available(void);

/* Starts the server (options may be NULL). Returns 0, or -1 after printing why
 * on stderr. Waits for the server's ready line, at most 30 s. */
int s3env_start(struct s3env *e, const struct s3env_options *options);

/* Stops the server and waits for it; safe to call twice or after a failed start. */
void s3env_stop(struct s3env *e);

/* The environment for the product under test (for proc_run): the
 * credentials (an empty AWS_SESSION_TOKEN when the server takes none),
 * AWS_REGION, then `extra` (NULL-terminated "NAME=value" strings, may be NULL).
 * The result points into e and is valid until the next call. */
char *const *s3env_env(struct s3env *e, char *const extra[]);

/* ---- s3rver directly (no signature check, no faults, not counted) ---- */

/* Creates a bucket (no-op if it exists). Returns 0 or -1. */
int s3env_create_bucket(struct s3env *e, const char *bucket);
/* Writes an object. Returns 0 or -1. */
int s3env_put(struct s3env *e, const char *bucket, const char *key, const void *data, size_t len);
/* Uploads a directory store (root/BUCKET/KEY...): creates every bucket and
 * puts every regular file. Returns the number of objects, or -1. */
int s3env_upload_tree(struct s3env *e, const char *root);
/* Reads an object into a NUL-terminated heap buffer (caller frees); NULL if
 * it does not exist (or on error). len may be NULL. */
char *s3env_get(struct s3env *e, const char *bucket, const char *key, size_t *len);

/* Keys under prefix in bucket, sorted; *keys is a NULL-terminated array
 * (free with s3env_free_keys). Returns the count, or -1 (e.g. no bucket). */
int s3env_list(struct s3env *e, const char *bucket, const char *prefix, char ***keys);
void s3env_free_keys(char **keys);

/* ---- the proxy's control endpoints ---- */

/* In-progress (neither completed nor aborted) multipart uploads in every
 * bucket whose key starts with prefix (NULL or "": all), or -1 on error. */
int s3env_count_uploads(struct s3env *e, const char *prefix);
/* Replaces the fault rules (a JSON array, see tests/s3/server.js); "[]" or
 * s3env_clear_faults removes them. Returns 0 or -1 (rules rejected). */
int s3env_set_faults(struct s3env *e, const char *rules_json);
int s3env_clear_faults(struct s3env *e);
/* Zeroes the per-test counters and the request log (the totals stay). */
int s3env_reset_stats(struct s3env *e);
/* Changes what the proxy accepts: a session token to require (NULL or "":
 * none), and the minimum size of every part but the last (0: unchanged). */
int s3env_configure(struct s3env *e, const char *session_token, long min_part_size);
/* An integer from GET /__control/stats by dotted path ("signature_failures",
 * "by_op.UploadPart", "totals.signature_failures"); 0 if absent, -1 on error. */
long s3env_stat(struct s3env *e, const char *path);
/* Raw JSON of a control call (GET with body NULL, else POST), caller frees;
 * NULL on error. path is e.g. "/__control/requests". */
char *s3env_control(struct s3env *e, const char *method, const char *path, const char *body);

#endif
