#include "settings.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A row, every field named; the shapes below fill in what their kind fixes,
 * so that each row reads as a line of the table. */
#define ROW(id, nm, al, kd, ty, val, def, lo, hi, who, text)                                       \
    [id] = {.name = nm,                                                                            \
            .alias = al,                                                                           \
            .kind = kd,                                                                            \
            .type = ty,                                                                            \
            .value = val,                                                                          \
            .fallback = def,                                                                       \
            .min = lo,                                                                             \
            .max = hi,                                                                             \
            .reader = who,                                                                         \
            .help = text}
#define FLAG(id, flag, ty, val, def, text)                                                         \
    ROW(id, flag, NULL, SETTING_FLAG, ty, val, def, 0, 0, "cli", text)
#define ENV(id, var, ty, val, def, who, text)                                                      \
    ROW(id, var, NULL, SETTING_ENV, ty, val, def, 0, 0, who, text)
#define ENV_INTEGER(id, var, lo, hi, def, text)                                                    \
    ROW(id, var, NULL, SETTING_ENV, SETTING_INTEGER, "integer", def, lo, hi, "s3/config", text)
#define PROXY(id, var, other, val, text)                                                           \
    ROW(id, var, other, SETTING_ENV, SETTING_TEXT, val, NULL, 0, 0, "libcurl", text)

/* Grouped by who reads them: the command line, Lambda and logging, the S3
 * store's credentials, region, endpoint, trust store and tunables, and the
 * proxies libcurl finds itself. */
const struct setting settings_table[SETTING_COUNT] = {
    FLAG(SETTING_OPT_STORE, "--store", SETTING_TEXT, "DIR",
         "S3, with credentials and region from the environment",
         "directory object store: object BUCKET/KEY is DIR/BUCKET/KEY"),
    FLAG(SETTING_OPT_TRANSFORMATION, "--transformation", SETTING_CHOICE, "NONE|COMPACT|FLATTEN",
         "NONE", "the ResultWriter's Transformation"),
    FLAG(SETTING_OPT_REQUIRE_COMPLETE, "--require-complete", SETTING_SWITCH, NULL,
         "read the SUCCEEDED ones and warn; BCR_REQUIRE_COMPLETE=true in Lambda",
         "fail (IncompleteMapRun) when the manifest lists FAILED or PENDING result files"),
    FLAG(SETTING_OPT_REGION, "--region", SETTING_TEXT, "REGION",
         "AWS_REGION, then AWS_DEFAULT_REGION, then the profile's region in AWS_CONFIG_FILE or "
         "~/.aws/config",
         "S3 region"),
    FLAG(SETTING_OPT_ENDPOINT_URL, "--endpoint-url", SETTING_TEXT, "URL",
         "AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, then AWS", "S3 endpoint, path-style"),
    FLAG(SETTING_OPT_OUTPUT, "--output", SETTING_CHOICE, "-", NULL,
         "write results.json to stdout instead of the store, and the reply to stderr. On failure "
         "stdout holds at most an incomplete document (never its closing byte; a redirected file "
         "is cut back to empty), the error document is the last line of stderr, and the exit is 1"),
    FLAG(SETTING_OPT_MANIFEST, "--manifest", SETTING_TEXT, "s3://BUCKET/KEY", NULL,
         "replay a Map Run by hand: the event is built from the manifest's s3://BUCKET/KEY (with "
         "--store, BUCKET/KEY also does); the consignment id is the first '/'-segment of KEY. Not "
         "with EVENT_FILE"),
    FLAG(SETTING_OPT_HELP, "--help", SETTING_SWITCH, NULL, NULL, "print this help and exit"),
    FLAG(SETTING_OPT_VERSION, "--version", SETTING_SWITCH, NULL, NULL,
         "print the version and the versions of the libraries built in, and exit"),
    ROW(SETTING_EVENT_FILE, "EVENT_FILE", NULL, SETTING_OPERAND, SETTING_TEXT, "path or -", "stdin",
        0, 0, "cli", "the event, the Map state's output; '-' reads stdin"),

    ENV(SETTING_AWS_LAMBDA_RUNTIME_API, "AWS_LAMBDA_RUNTIME_API", SETTING_TEXT, "host:port", NULL,
        "main",
        "set by Lambda: when no EVENT_FILE, --manifest or --output is given, serve Lambda "
        "invocations from this Runtime API"),
    ENV(SETTING_BCR_TRANSFORMATION, "BCR_TRANSFORMATION", SETTING_CHOICE, "NONE|COMPACT|FLATTEN",
        "--transformation's", "lambda", "in Lambda, the ResultWriter's Transformation"),
    ENV(SETTING_BCR_REQUIRE_COMPLETE, "BCR_REQUIRE_COMPLETE", SETTING_CHOICE, "true|false", "false",
        "lambda",
        "in Lambda, true: a manifest listing FAILED or PENDING result files is IncompleteMapRun; "
        "false: they are left out with a warning"),
    ENV(SETTING_AWS_LAMBDA_FUNCTION_NAME, "AWS_LAMBDA_FUNCTION_NAME", SETTING_TEXT, "name", NULL,
        "lambda", "set by Lambda: the FunctionName dimension of the EMF metrics"),
    ENV(SETTING_X_AMZN_TRACE_ID, "_X_AMZN_TRACE_ID", SETTING_TEXT, "trace header", NULL, "lambda",
        "set for each invocation from the Runtime API's trace id: logged, and sent on every S3 "
        "request of the invocation as X-Amzn-Trace-Id"),
    ENV(SETTING_AWS_LAMBDA_LOG_FORMAT, "AWS_LAMBDA_LOG_FORMAT", SETTING_CHOICE, "Text|JSON", "Text",
        "main", "JSON (any case): one JSON object per log line; anything else: text lines"),
    ENV(SETTING_AWS_LAMBDA_LOG_LEVEL, "AWS_LAMBDA_LOG_LEVEL", SETTING_CHOICE,
        "TRACE|DEBUG|INFO|WARN|ERROR|FATAL", "INFO", "main",
        "the lowest level logged (any case; another word: INFO)"),

    ENV(SETTING_AWS_ACCESS_KEY_ID, "AWS_ACCESS_KEY_ID", SETTING_TEXT, "key id", NULL, "s3/config",
        "with AWS_SECRET_ACCESS_KEY, the credentials (one without the other is an error); "
        "unset: the profile's"),
    ENV(SETTING_AWS_SECRET_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", SETTING_TEXT, "secret", NULL,
        "s3/config", "the secret key of AWS_ACCESS_KEY_ID"),
    ENV(SETTING_AWS_SESSION_TOKEN, "AWS_SESSION_TOKEN", SETTING_TEXT, "token", NULL, "s3/config",
        "the session token of temporary credentials in AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY"),
    ENV(SETTING_AWS_PROFILE, "AWS_PROFILE", SETTING_TEXT, "name", "default", "s3/config",
        "the profile of the AWS files: its keys in the shared credentials file, else its "
        "credential_process (which serves SSO sign-ins), else its keys in the config file; and "
        "its region"),
    ENV(SETTING_AWS_SHARED_CREDENTIALS_FILE, "AWS_SHARED_CREDENTIALS_FILE", SETTING_TEXT, "path",
        "~/.aws/credentials", "s3/config",
        "the shared credentials file ([NAME]): a profile's keys or credential_process"),
    ENV(SETTING_AWS_CONFIG_FILE, "AWS_CONFIG_FILE", SETTING_TEXT, "path", "~/.aws/config",
        "s3/config",
        "the config file ([profile NAME], [default]): a profile's credential_process, keys and "
        "region"),
    ENV(SETTING_HOME, "HOME", SETTING_TEXT, "path", NULL, "s3/config",
        "where ~ in the AWS files' paths (and their defaults) points"),
    ENV(SETTING_AWS_REGION, "AWS_REGION", SETTING_TEXT, "region", NULL, "s3/config",
        "the S3 region, when --region is not given"),
    ENV(SETTING_AWS_DEFAULT_REGION, "AWS_DEFAULT_REGION", SETTING_TEXT, "region",
        "the profile's region", "s3/config",
        "the S3 region, when neither --region nor AWS_REGION is given"),
    ENV(SETTING_AWS_ENDPOINT_URL_S3, "AWS_ENDPOINT_URL_S3", SETTING_TEXT, "URL", NULL, "s3/config",
        "the S3 endpoint (path-style), when --endpoint-url is not given"),
    ENV(SETTING_AWS_ENDPOINT_URL, "AWS_ENDPOINT_URL", SETTING_TEXT, "URL",
        "https://s3.REGION.amazonaws.com", "s3/config",
        "the S3 endpoint (path-style), when neither --endpoint-url nor AWS_ENDPOINT_URL_S3 is "
        "given"),
    ENV(SETTING_SSL_CERT_FILE, "SSL_CERT_FILE", SETTING_TEXT, "path",
        "a hashed CA directory, else Debian's or Amazon Linux's bundle", "s3/config",
        "the CA bundle TLS is verified with (at most 4 MiB)"),
    ENV(SETTING_SSL_CERT_DIR, "SSL_CERT_DIR", SETTING_TEXT, "path",
        "/etc/pki/ca-trust/extracted/pem/directory-hash, else /etc/ssl/certs", "s3/config",
        "a hashed CA directory TLS is verified with, when SSL_CERT_FILE is not set"),
    ENV_INTEGER(SETTING_AWS_MAX_ATTEMPTS, "AWS_MAX_ATTEMPTS", 1, 100, "3",
                "attempts per S3 request (throttling, 5xx, timeouts and connection errors are "
                "retried)"),
    ENV(SETTING_BCR_EXPECTED_BUCKET_OWNER, "BCR_EXPECTED_BUCKET_OWNER", SETTING_TEXT,
        "account id (12 digits)", NULL, "s3/config",
        "sent, signed, on every S3 request as x-amz-expected-bucket-owner: a bucket of another "
        "account is AccessDenied"),
    ENV_INTEGER(SETTING_BCR_S3_PART_SIZE, "BCR_S3_PART_SIZE", 1, 5LL << 30, "8388608",
                "bytes in a part of a multipart upload, and the most one PutObject sends (below 5 "
                "MiB only for servers that allow it)"),
    ENV_INTEGER(SETTING_BCR_S3_LOW_SPEED_LIMIT, "BCR_S3_LOW_SPEED_LIMIT", 1, 1LL << 30, "1024",
                "bytes a second: a request slower than this for BCR_S3_LOW_SPEED_TIME is "
                "abandoned and retried"),
    ENV_INTEGER(SETTING_BCR_S3_LOW_SPEED_TIME, "BCR_S3_LOW_SPEED_TIME", 1, 3600, "10",
                "seconds below BCR_S3_LOW_SPEED_LIMIT before a request is abandoned"),
    ENV_INTEGER(SETTING_BCR_S3_CONNECT_TIMEOUT_MS, "BCR_S3_CONNECT_TIMEOUT_MS", 1, 600000, "5000",
                "milliseconds to connect to S3"),

    PROXY(SETTING_HTTP_PROXY, "http_proxy", NULL, "URL",
          "the proxy for an http:// S3 endpoint (lower case only, as libcurl reads it)"),
    PROXY(SETTING_HTTPS_PROXY, "HTTPS_PROXY", "https_proxy", "URL", "the proxy for S3 over HTTPS"),
    PROXY(SETTING_ALL_PROXY, "ALL_PROXY", "all_proxy", "URL",
          "the proxy when none is set for the endpoint's scheme"),
    PROXY(SETTING_NO_PROXY, "NO_PROXY", "no_proxy", "hosts",
          "hosts reached without a proxy (comma-separated, * for all); the Lambda Runtime API "
          "never uses one"),
};

const char *settings_env(enum setting_id id)
{
    assert(id < SETTING_COUNT && settings_table[id].kind == SETTING_ENV);
    const char *v = getenv(settings_table[id].name);
    return v && *v ? v : NULL;
}

int settings_env_integer(enum setting_id id, long long *out, struct error *err)
{
    const struct setting *s = &settings_table[id];
    assert(s->type == SETTING_INTEGER);
    const char *v = settings_env(id);
    const char *text = v ? v : s->fallback;
    char *end;
    long long n = strtoll(text, &end, 10);
    if (end == text || *end || n < s->min || n > s->max)
        return error_set(err, ERR_CONFIG, "%s=%s is not an integer from %lld to %lld", s->name,
                         text, s->min, s->max);
    *out = n;
    return 0;
}

/* ---- help and Markdown ---- */

enum { HELP_WIDTH = 100, HELP_INDENT = 24 };

/* Writes text word by word from column *col, breaking lines before
 * HELP_WIDTH and indenting the next ones by HELP_INDENT. */
static void write_wrapped(FILE *f, const char *text, int *col)
{
    while (*text) {
        size_t word = strcspn(text, " ");
        if (*col > HELP_INDENT && *col + 1 + (int)word > HELP_WIDTH) {
            fprintf(f, "\n%*s", HELP_INDENT, "");
            *col = HELP_INDENT;
        } else if (*col > HELP_INDENT) {
            fputc(' ', f);
            (*col)++;
        }
        fwrite(text, 1, word, f);
        *col += (int)word;
        text += word;
        text += strspn(text, " ");
    }
}

/* "integer from 1 to 100" into buf; "" for other types. */
static const char *bounds_text(const struct setting *s, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (s->type == SETTING_INTEGER)
        snprintf(buf, cap, "%lld to %lld", s->min, s->max);
    return buf;
}

static void write_help_row(FILE *f, const struct setting *s)
{
    char label[64], text[128];
    if (s->kind == SETTING_FLAG && s->value)
        snprintf(label, sizeof label, "%s %s", s->name, s->value);
    else if (s->alias)
        snprintf(label, sizeof label, "%s, %s", s->name, s->alias);
    else
        snprintf(label, sizeof label, "%s", s->name);
    int col = fprintf(f, "  %s", label);
    if (col + 2 > HELP_INDENT) {
        fputc('\n', f);
        col = 0;
    }
    fprintf(f, "%*s", HELP_INDENT - col, "");
    col = HELP_INDENT;
    if (s->kind != SETTING_FLAG && s->value) {
        char bounds[64];
        snprintf(text, sizeof text, "%s%s%s:", s->value, s->type == SETTING_INTEGER ? " from " : "",
                 bounds_text(s, bounds, sizeof bounds));
        write_wrapped(f, text, &col);
    }
    write_wrapped(f, s->help, &col);
    if (s->fallback) {
        write_wrapped(f, "(default:", &col);
        write_wrapped(f, s->fallback, &col);
        fputc(')', f);
    }
    fputc('\n', f);
}

void settings_write_usage(FILE *f, const char *program)
{
    int indent = fprintf(f, "usage: %s", program);
    int col = indent;
    for (int i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings_table[i];
        if (s->kind == SETTING_ENV || i == SETTING_OPT_HELP || i == SETTING_OPT_VERSION)
            continue;
        char item[96];
        int n = snprintf(item, sizeof item, "[%s%s%s]", s->name,
                         s->kind == SETTING_FLAG && s->value ? " " : "",
                         s->kind == SETTING_FLAG && s->value ? s->value : "");
        if (col + 1 + n > HELP_WIDTH) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        }
        col += fprintf(f, " %s", item);
    }
    fputc('\n', f);
}

void settings_write_help(FILE *f, enum setting_kind kind)
{
    for (int i = 0; i < SETTING_COUNT; i++)
        if (settings_table[i].kind == kind)
            write_help_row(f, &settings_table[i]);
}

/* Writes s in a Markdown table cell: '|' escaped, as GitHub's tables need
 * even inside code spans. */
static void write_cell(FILE *f, const char *s, bool code)
{
    fputs(code ? " `" : " ", f);
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputs(code ? "` |" : " |", f);
}

void settings_write_markdown(FILE *f)
{
    static const char *const kinds[] = {
        [SETTING_FLAG] = "flag", [SETTING_OPERAND] = "argument", [SETTING_ENV] = "environment"};
    static const char *const types[] = {[SETTING_SWITCH] = "switch",
                                        [SETTING_TEXT] = "text",
                                        [SETTING_CHOICE] = "choice",
                                        [SETTING_INTEGER] = "integer"};
    fputs("| setting | kind | type | default | bounds | read by | what it does |\n"
          "|---|---|---|---|---|---|---|\n",
          f);
    for (int i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings_table[i];
        char name[96], type[96], bounds[64];
        snprintf(name, sizeof name, "%s%s%s", s->name, s->alias ? "`, `" : "",
                 s->alias ? s->alias : "");
        if (s->type == SETTING_TEXT)
            snprintf(type, sizeof type, "%s", s->value);
        else if (s->type == SETTING_CHOICE)
            snprintf(type, sizeof type, "one of %s", s->value);
        else
            snprintf(type, sizeof type, "%s", types[s->type]);
        fputc('|', f);
        write_cell(f, name, true);
        write_cell(f, kinds[s->kind], false);
        write_cell(f, type, false);
        write_cell(f, s->fallback ? s->fallback : "", false);
        write_cell(f, bounds_text(s, bounds, sizeof bounds), false);
        write_cell(f, s->reader, true);
        write_cell(f, s->help, false);
        fputc('\n', f);
    }
}
