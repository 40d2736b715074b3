#define _POSIX_C_SOURCE 200809L
#include "s3/config.h"

#include <curl/curl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s3/credentials.h"
#include "s3/sigv4.h"
#include "settings.h"

const char *const s3_ca_bundle_candidates[] = {
    "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu */
    "/etc/pki/tls/certs/ca-bundle.crt",                  /* Amazon Linux 2023 (Lambda), RHEL */
    "/etc/ssl/cert.pem",                                 /* Alpine, macOS */
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL, extracted */
    NULL,
};

const char *const s3_ca_dir_candidates[] = {
    "/etc/pki/ca-trust/extracted/pem/directory-hash", /* Amazon Linux 2023 (Lambda), RHEL 9 */
    "/etc/ssl/certs",                                 /* Debian, Ubuntu */
    NULL,
};

void s3_config_aws_env(struct aws_env *out)
{
    *out = (struct aws_env){
        .access_key_id = settings_env(SETTING_AWS_ACCESS_KEY_ID),
        .secret_access_key = settings_env(SETTING_AWS_SECRET_ACCESS_KEY),
        .session_token = settings_env(SETTING_AWS_SESSION_TOKEN),
        .profile = settings_env(SETTING_AWS_PROFILE),
        .shared_credentials_file = settings_env(SETTING_AWS_SHARED_CREDENTIALS_FILE),
        .config_file = settings_env(SETTING_AWS_CONFIG_FILE),
        .home = settings_env(SETTING_HOME),
    };
}

static int parse_endpoint(struct s3_config *c, const char *url, struct error *err)
{
    const char *rest;
    if (strncasecmp(url, "https://", 8) == 0) {
        c->https = true;
        rest = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        c->https = false;
        rest = url + 7;
    } else {
        return error_set(err, ERR_CONFIG, "endpoint URL %s is not http:// or https://", url);
    }
    size_t auth_len = strcspn(rest, "/?#");
    const char *path = rest + auth_len;
    size_t path_len = strcspn(path, "?#");
    if (path[path_len])
        return error_set(err, ERR_CONFIG, "endpoint URL %s has a query or fragment", url);
    while (path_len > 0 && path[path_len - 1] == '/')
        path_len--;
    if (auth_len == 0 || memchr(rest, '@', auth_len))
        return error_set(err, ERR_CONFIG, "endpoint URL %s has no host, or has user info", url);
    if (auth_len >= sizeof c->authority || path_len >= sizeof c->base_path)
        return error_set(err, ERR_CONFIG, "endpoint URL %s is too long", url);
    memcpy(c->authority, rest, auth_len);
    c->authority[auth_len] = '\0';
    memcpy(c->base_path, path, path_len);
    c->base_path[path_len] = '\0';
    c->custom_endpoint = true;
    return 0;
}

int s3_config_resolve(struct s3_config *c, const char *region, const char *endpoint_url,
                      struct error *err)
{
    memset(c, 0, sizeof *c);
    if (!region || !*region)
        region = settings_env(SETTING_AWS_REGION);
    if (!region)
        region = settings_env(SETTING_AWS_DEFAULT_REGION);
    char profile_region[S3_REGION_MAX];
    if (!region) {
        struct aws_env env;
        s3_config_aws_env(&env);
        if (credentials_profile_region(&env, profile_region, sizeof profile_region, err) != 0)
            return -1;
        region = profile_region[0] ? profile_region : NULL;
    }
    if (!region)
        return error_set(err, ERR_CONFIG,
                         "no AWS region: pass --region, set AWS_REGION or AWS_DEFAULT_REGION, or "
                         "give the profile a region in the AWS config file");
    if (strlen(region) >= sizeof c->region || strspn(region, "abcdefghijklmnopqrstuvwxyz"
                                                             "0123456789-") != strlen(region))
        return error_set(err, ERR_CONFIG, "AWS region \"%s\" is not a region name", region);
    strcpy(c->region, region);

    if (!endpoint_url || !*endpoint_url)
        endpoint_url = settings_env(SETTING_AWS_ENDPOINT_URL_S3);
    if (!endpoint_url)
        endpoint_url = settings_env(SETTING_AWS_ENDPOINT_URL);
    if (endpoint_url && parse_endpoint(c, endpoint_url, err) != 0)
        return -1;
    if (!endpoint_url)
        c->https = true;

    const char *ssl_cert_file = settings_env(SETTING_SSL_CERT_FILE);
    if (!ssl_cert_file && s3_ca_dir_select(settings_env(SETTING_SSL_CERT_DIR), s3_ca_dir_candidates,
                                           c->ca_dir, sizeof c->ca_dir, err) != 0)
        return -1;
    if (!c->ca_dir[0] && s3_ca_bundle_select(ssl_cert_file, s3_ca_bundle_candidates, c->ca_bundle,
                                             sizeof c->ca_bundle, err) != 0)
        return -1;

    long long attempts, part, limit, time_s, connect_ms;
    if (settings_env_integer(SETTING_AWS_MAX_ATTEMPTS, &attempts, err) != 0 ||
        settings_env_integer(SETTING_BCR_S3_PART_SIZE, &part, err) != 0 ||
        settings_env_integer(SETTING_BCR_S3_LOW_SPEED_LIMIT, &limit, err) != 0 ||
        settings_env_integer(SETTING_BCR_S3_LOW_SPEED_TIME, &time_s, err) != 0 ||
        settings_env_integer(SETTING_BCR_S3_CONNECT_TIMEOUT_MS, &connect_ms, err) != 0)
        return -1;
    const char *owner = settings_env(SETTING_BCR_EXPECTED_BUCKET_OWNER);
    if (owner) {
        if (strlen(owner) != 12 || strspn(owner, "0123456789") != 12)
            return error_set(err, ERR_CONFIG,
                             "BCR_EXPECTED_BUCKET_OWNER=%.40s is not an AWS account id (12 digits)",
                             owner);
        strcpy(c->expected_bucket_owner, owner);
    }
    c->max_attempts = (int)attempts;
    c->part_size = (size_t)part;
    c->low_speed_limit = (long)limit;
    c->low_speed_time = (long)time_s;
    c->connect_timeout_ms = (long)connect_ms;
    return 0;
}

int s3_ca_bundle_select(const char *ssl_cert_file, const char *const *candidates, char *out,
                        size_t cap, struct error *err)
{
    struct stat st;
    out[0] = '\0';
    if (ssl_cert_file && *ssl_cert_file) {
        if (stat(ssl_cert_file, &st) != 0 || !S_ISREG(st.st_mode) ||
            access(ssl_cert_file, R_OK) != 0)
            return error_set(err, ERR_CONFIG, "SSL_CERT_FILE=%s is not a readable file",
                             ssl_cert_file);
        if (strlen(ssl_cert_file) >= cap)
            return error_set(err, ERR_CONFIG, "SSL_CERT_FILE=%s is too long", ssl_cert_file);
        if (st.st_size > S3_CA_BUNDLE_MAX)
            return error_set(err, ERR_CONFIG,
                             "SSL_CERT_FILE=%s is over %d bytes (%lld): too big to be a CA bundle",
                             ssl_cert_file, S3_CA_BUNDLE_MAX, (long long)st.st_size);
        strcpy(out, ssl_cert_file);
        return 0;
    }
    for (; *candidates; candidates++) {
        if (stat(*candidates, &st) == 0 && S_ISREG(st.st_mode) && access(*candidates, R_OK) == 0 &&
            strlen(*candidates) < cap) {
            strcpy(out, *candidates);
            return 0;
        }
    }
    return 0;
}

bool s3_bucket_is_virtual_hostable(const char *bucket)
{
    size_t n = strlen(bucket);
    if (n < 3 || n > 63 || strspn(bucket, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
        return false;
    return bucket[0] != '-' && bucket[n - 1] != '-';
}

/* Appends a string to a fixed buffer; false if it does not fit. */
static bool append(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (n >= cap - *len)
        return false;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
    return true;
}

static bool append_encoded(char *out, size_t cap, size_t *len, const char *s, bool keep_slash)
{
    int n = sigv4_uri_encode(s, strlen(s), keep_slash, out + *len, cap - *len);
    if (n < 0 || (size_t)n >= cap - *len)
        return false;
    *len += (size_t)n;
    out[*len] = '\0';
    return true;
}

int s3_target_build(const struct s3_config *c, const char *bucket, const char *key,
                    const char *wire_query, struct s3_target *out, struct error *err)
{
    if (!*bucket)
        return error_set(err, ERR_INVALID_KEY, "empty bucket name (key %s)", key);
    if (!*key)
        return error_set(err, ERR_INVALID_KEY, "empty object key in bucket %s", bucket);
    bool virtual_host = !c->custom_endpoint && s3_bucket_is_virtual_hostable(bucket);
    const char *suffix = strncmp(c->region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
    int n;
    if (c->custom_endpoint)
        n = snprintf(out->host, sizeof out->host, "%s", c->authority);
    else if (virtual_host)
        n = snprintf(out->host, sizeof out->host, "%s.s3.%s.%s", bucket, c->region, suffix);
    else
        n = snprintf(out->host, sizeof out->host, "s3.%s.%s", c->region, suffix);
    if (n < 0 || (size_t)n >= sizeof out->host)
        return error_set(err, ERR_INVALID_KEY, "host name for bucket %s is too long", bucket);

    size_t len = 0;
    out->path[0] = '\0';
    bool ok = append(out->path, sizeof out->path, &len, c->base_path, strlen(c->base_path));
    if (!virtual_host)
        ok = ok && append(out->path, sizeof out->path, &len, "/", 1) &&
             append_encoded(out->path, sizeof out->path, &len, bucket, false);
    ok = ok && append(out->path, sizeof out->path, &len, "/", 1) &&
         append_encoded(out->path, sizeof out->path, &len, key, true);
    if (!ok)
        return error_set(err, ERR_INVALID_KEY, "object key in bucket %s is too long: %.200s...",
                         bucket, key);

    bool query = wire_query && *wire_query;
    n = snprintf(out->url, sizeof out->url, "%s://%s%s%s%s", c->https ? "https" : "http", out->host,
                 out->path, query ? "?" : "", query ? wire_query : "");
    if (n < 0 || (size_t)n >= sizeof out->url)
        return error_set(err, ERR_INVALID_KEY, "URL for key %.200s in bucket %s is too long", key,
                         bucket);
    return 0;
}

enum s3_retry_kind s3_retry_for_response(long status, const char *code)
{
    static const char *const throttling[] = {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    };
    static const char *const transient[] = {
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "ServiceUnavailable",
    };
    for (size_t i = 0; code && i < sizeof throttling / sizeof *throttling; i++)
        if (strcmp(code, throttling[i]) == 0)
            return S3_RETRY_THROTTLE;
    for (size_t i = 0; code && i < sizeof transient / sizeof *transient; i++)
        if (strcmp(code, transient[i]) == 0)
            return S3_RETRY_TRANSIENT;
    if (status == 429 || status == 503)
        return S3_RETRY_THROTTLE;
    if (status == 500 || status == 502 || status == 504)
        return S3_RETRY_TRANSIENT;
    return S3_RETRY_NONE;
}

enum s3_retry_kind s3_retry_for_transport(int curl_code)
{
    switch ((CURLcode)curl_code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
        return S3_RETRY_TRANSIENT;
    default:
        return S3_RETRY_NONE;
    }
}

int64_t s3_backoff_ms(int retry, enum s3_retry_kind kind, double unit)
{
    const int64_t cap = 20000;
    int64_t ceiling = kind == S3_RETRY_THROTTLE ? 500 : 100;
    for (int i = 1; i < retry && ceiling < cap; i++)
        ceiling *= 2;
    if (ceiling > cap)
        ceiling = cap;
    if (!(unit >= 0.0))
        unit = 0.0;
    if (unit >= 1.0)
        unit = 0.999999;
    return (int64_t)(unit * (double)ceiling);
}

/* True if dir holds at least one of OpenSSL's hash links (8 hex digits, '.',
 * a digit: c_rehash and update-ca-trust make them), the only names a
 * directory lookup opens. */
static bool is_hashed_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    for (struct dirent *e; !found && (e = readdir(d));) {
        const char *n = e->d_name;
        found = strlen(n) == 10 && strspn(n, "0123456789abcdef") == 8 && n[8] == '.' &&
                n[9] >= '0' && n[9] <= '9';
    }
    closedir(d);
    return found;
}

int s3_ca_dir_select(const char *ssl_cert_dir, const char *const *candidates, char *out, size_t cap,
                     struct error *err)
{
    struct stat st;
    out[0] = '\0';
    if (ssl_cert_dir && *ssl_cert_dir) {
        if (stat(ssl_cert_dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
            access(ssl_cert_dir, R_OK | X_OK) != 0)
            return error_set(err, ERR_CONFIG, "SSL_CERT_DIR=%s is not a readable directory",
                             ssl_cert_dir);
        if (strlen(ssl_cert_dir) >= cap)
            return error_set(err, ERR_CONFIG, "SSL_CERT_DIR=%s is too long", ssl_cert_dir);
        strcpy(out, ssl_cert_dir);
        return 0;
    }
    for (; *candidates; candidates++) {
        if (strlen(*candidates) < cap && is_hashed_dir(*candidates)) {
            strcpy(out, *candidates);
            return 0;
        }
    }
    return 0;
}
