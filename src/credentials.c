#include "credentials.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static void free_secret(char **s)
{
    if (*s) {
        OPENSSL_cleanse(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

void credentials_clear(struct aws_credentials *c)
{
    if (!c)
        return;
    free_secret(&c->access_key_id);
    free_secret(&c->secret_access_key);
    free_secret(&c->session_token);
}

/* An environment variable, with empty meaning unset (as botocore has it). */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] != '\0' ? v : NULL;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Copies the three values into out; NULL token means none. On failure out is
 * left cleared. */
static int set_all(struct aws_credentials *out, const char *id, size_t id_len, const char *secret,
                   size_t secret_len, const char *token, size_t token_len, struct error *err)
{
    out->access_key_id = dup_n(id, id_len);
    out->secret_access_key = dup_n(secret, secret_len);
    out->session_token = token ? dup_n(token, token_len) : NULL;
    if (!out->access_key_id || !out->secret_access_key || (token && !out->session_token)) {
        credentials_clear(out);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory copying AWS credentials");
    }
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

struct span {
    const char *p;
    size_t n;
};

static struct span trim(const char *p, const char *end)
{
    while (p < end && is_space(*p))
        p++;
    while (end > p && is_space(end[-1]))
        end--;
    return (struct span){p, (size_t)(end - p)};
}

static bool span_eq(struct span s, const char *lit)
{
    return strlen(lit) == s.n && memcmp(s.p, lit, s.n) == 0;
}

static bool span_eq_nocase(struct span s, const char *lit)
{
    if (strlen(lit) != s.n)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return false;
    }
    return true;
}

/* The values found in the profile's section(s); spans point into the file text. */
struct profile_values {
    bool found;
    struct span id, secret, token;
    bool has_id, has_secret, has_token;
};

/* Parses INI text as botocore's credentials file reader does, for one profile:
 * "[name]" opens a section, "key = value" (or ':') sets a key, blank lines and
 * lines starting with '#' or ';' are skipped. A later assignment wins. */
static void scan_profile(const char *text, size_t len, const char *profile,
                         struct profile_values *v)
{
    const char *p = text, *end = text + len;
    bool in_profile = false;
    memset(v, 0, sizeof *v);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        struct span line = trim(p, eol);
        p = eol < end ? eol + 1 : end;
        if (line.n == 0 || line.p[0] == '#' || line.p[0] == ';')
            continue;
        if (line.p[0] == '[') {
            const char *close = line.p + line.n - 1;
            in_profile = *close == ']' && line.n >= 2 && span_eq(trim(line.p + 1, close), profile);
            v->found = v->found || in_profile;
            continue;
        }
        if (!in_profile)
            continue;
        size_t k = 0;
        while (k < line.n && line.p[k] != '=' && line.p[k] != ':')
            k++;
        if (k == line.n)
            continue;
        struct span key = trim(line.p, line.p + k);
        struct span value = trim(line.p + k + 1, line.p + line.n);
        if (span_eq_nocase(key, "aws_access_key_id")) {
            v->id = value;
            v->has_id = value.n > 0;
        } else if (span_eq_nocase(key, "aws_secret_access_key")) {
            v->secret = value;
            v->has_secret = value.n > 0;
        } else if (span_eq_nocase(key, "aws_session_token")) {
            v->token = value;
            v->has_token = value.n > 0;
        }
    }
}

/* Reads the whole file (at most CREDENTIALS_FILE_MAX bytes) into a heap buffer
 * the caller wipes and frees. Returns 0, or -1 with errno-based detail in err. */
static int read_file(const char *path, char **data, size_t *len, struct error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(err, ERR_CONFIG,
                         "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are "
                         "not set, and the shared credentials file %s cannot be read (%s)",
                         path, strerror(errno));
    char *buf = malloc(CREDENTIALS_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory reading %s", path);
    }
    size_t n = fread(buf, 1, CREDENTIALS_FILE_MAX + 1, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed || n > CREDENTIALS_FILE_MAX) {
        OPENSSL_cleanse(buf, n);
        free(buf);
        if (failed)
            return error_set(err, ERR_CONFIG, "error reading the shared credentials file %s", path);
        return error_set(err, ERR_CONFIG, "the shared credentials file %s is over %d bytes", path,
                         CREDENTIALS_FILE_MAX);
    }
    *data = buf;
    *len = n;
    return 0;
}

/* AWS_SHARED_CREDENTIALS_FILE (with "~/" expanded) or $HOME/.aws/credentials,
 * in a heap string. */
static char *credentials_path(struct error *err)
{
    const char *set = env("AWS_SHARED_CREDENTIALS_FILE");
    const char *home = env("HOME");
    const char *prefix = "", *rest;
    if (set) {
        rest = set;
        if (set[0] == '~' && (set[1] == '/' || set[1] == '\0')) {
            if (!home) {
                error_set(err, ERR_CONFIG,
                          "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are "
                          "not set, and AWS_SHARED_CREDENTIALS_FILE starts with ~ but HOME is "
                          "not set");
                return NULL;
            }
            prefix = home;
            rest = set + 1;
        }
    } else {
        if (!home) {
            error_set(err, ERR_CONFIG,
                      "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not "
                      "set, and neither AWS_SHARED_CREDENTIALS_FILE nor HOME is set to find a "
                      "shared credentials file");
            return NULL;
        }
        prefix = home;
        rest = "/.aws/credentials";
    }
    size_t a = strlen(prefix), b = strlen(rest);
    char *path = malloc(a + b + 1);
    if (!path) {
        error_set(err, ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    memcpy(path, prefix, a);
    memcpy(path + a, rest, b + 1);
    return path;
}

static int load_file(struct aws_credentials *out, struct error *err)
{
    const char *profile = env("AWS_PROFILE");
    if (!profile)
        profile = "default";
    char *path = credentials_path(err);
    if (!path)
        return -1;
    char *text = NULL;
    size_t len = 0;
    if (read_file(path, &text, &len, err) != 0) {
        free(path);
        return -1;
    }
    struct profile_values v;
    scan_profile(text, len, profile, &v);
    int rc;
    if (!v.found)
        rc = error_set(err, ERR_CONFIG,
                       "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not "
                       "set, and the shared credentials file %s has no profile [%s]",
                       path, profile);
    else if (!v.has_id || !v.has_secret)
        rc = error_set(err, ERR_CONFIG, "incomplete AWS credentials: profile [%s] in %s has no %s",
                       profile, path, !v.has_id ? "aws_access_key_id" : "aws_secret_access_key");
    else
        rc = set_all(out, v.id.p, v.id.n, v.secret.p, v.secret.n, v.has_token ? v.token.p : NULL,
                     v.token.n, err);
    OPENSSL_cleanse(text, len);
    free(text);
    free(path);
    return rc;
}

int credentials_load(struct aws_credentials *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    const char *id = env("AWS_ACCESS_KEY_ID");
    const char *secret = env("AWS_SECRET_ACCESS_KEY");
    if (id && secret) {
        const char *token = env("AWS_SESSION_TOKEN");
        return set_all(out, id, strlen(id), secret, strlen(secret), token,
                       token ? strlen(token) : 0, err);
    }
    /* Half a pair is a broken environment: falling back to a file would sign
     * with a different identity than the one configured. */
    if (id || secret)
        return error_set(err, ERR_CONFIG,
                         "incomplete AWS credentials in the environment: %s is set but %s is not",
                         id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                         id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    return load_file(out, err);
}
