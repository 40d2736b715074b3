/* settings: every command-line flag and environment variable the program
 * reads, in one table: name, kind, type, default, bounds, the module that
 * reads it, one line of help.
 *
 * The table is the one description: the command line's options (cli.c builds
 * getopt's list from it) and its --help, the README's table of settings
 * (scripts/settings-markdown.c writes it; `make lint` fails when README.md
 * differs) and the tests' scrubbing of the environment all come from it.
 *
 * It is also the one way in to the environment: getenv is called here only
 * (`make check-layers` enforces it), and settings_env and settings_env_integer
 * are called only by the shells and configuration modules named in
 * docs/architecture.md, each for the variables its row says it reads. Lower
 * layers are given what they need (the credentials chain a struct aws_env,
 * the log its format and level). */
#ifndef BCR_SETTINGS_H
#define BCR_SETTINGS_H

#include <stdio.h>

#include "error.h"

enum setting_kind {
    SETTING_FLAG,    /* a command-line option, "--name" */
    SETTING_OPERAND, /* a command-line argument after the options */
    SETTING_ENV,     /* an environment variable */
};

enum setting_type {
    SETTING_SWITCH,  /* a flag without a value */
    SETTING_TEXT,    /* any non-empty text (value says what it means) */
    SETTING_CHOICE,  /* one of the words in value, '|'-separated */
    SETTING_INTEGER, /* a decimal integer from min to max */
};

/* Ids index settings_table. Flags are SETTING_OPT_*, the operand
 * SETTING_EVENT_FILE, environment variables SETTING_ and their name (a
 * leading '_' dropped). */
enum setting_id {
    SETTING_OPT_STORE,
    SETTING_OPT_TRANSFORMATION,
    SETTING_OPT_REQUIRE_COMPLETE,
    SETTING_OPT_REGION,
    SETTING_OPT_ENDPOINT_URL,
    SETTING_OPT_OUTPUT,
    SETTING_OPT_MANIFEST,
    SETTING_OPT_HELP,
    SETTING_OPT_VERSION,
    SETTING_EVENT_FILE,
    SETTING_AWS_LAMBDA_RUNTIME_API,
    SETTING_BCR_TRANSFORMATION,
    SETTING_BCR_REQUIRE_COMPLETE,
    SETTING_AWS_LAMBDA_FUNCTION_NAME,
    SETTING_X_AMZN_TRACE_ID,
    SETTING_AWS_LAMBDA_LOG_FORMAT,
    SETTING_AWS_LAMBDA_LOG_LEVEL,
    SETTING_AWS_ACCESS_KEY_ID,
    SETTING_AWS_SECRET_ACCESS_KEY,
    SETTING_AWS_SESSION_TOKEN,
    SETTING_AWS_PROFILE,
    SETTING_AWS_SHARED_CREDENTIALS_FILE,
    SETTING_AWS_CONFIG_FILE,
    SETTING_HOME,
    SETTING_AWS_REGION,
    SETTING_AWS_DEFAULT_REGION,
    SETTING_AWS_ENDPOINT_URL_S3,
    SETTING_AWS_ENDPOINT_URL,
    SETTING_SSL_CERT_FILE,
    SETTING_SSL_CERT_DIR,
    SETTING_AWS_MAX_ATTEMPTS,
    SETTING_BCR_EXPECTED_BUCKET_OWNER,
    SETTING_BCR_S3_PART_SIZE,
    SETTING_BCR_S3_LOW_SPEED_LIMIT,
    SETTING_BCR_S3_LOW_SPEED_TIME,
    SETTING_BCR_S3_CONNECT_TIMEOUT_MS,
    SETTING_HTTP_PROXY,
    SETTING_HTTPS_PROXY,
    SETTING_ALL_PROXY,
    SETTING_NO_PROXY,
    SETTING_COUNT
};

/* One row. Strings are static; NULL where a row has nothing to say. */
struct setting {
    const char *name;  /* "--store", "EVENT_FILE", "AWS_REGION" */
    const char *alias; /* another spelling read the same way ("https_proxy"), or NULL */
    enum setting_kind kind;
    enum setting_type type;
    const char *value;    /* what it takes, as help shows it: "DIR", "NONE|COMPACT|FLATTEN" */
    const char *fallback; /* the default, as text; an integer's is its value in decimal */
    long long min, max;   /* SETTING_INTEGER's bounds, inclusive */
    const char *reader;   /* the module that reads it ("cli", "s3/config"), or "libcurl" */
    const char *help;     /* one line (wrapped when printed) */
};

/* Every setting, indexed by enum setting_id; every row is filled. */
extern const struct setting settings_table[SETTING_COUNT];

/* The variable's value, or NULL when it is unset or empty: the AWS SDKs and
 * CLI treat an empty setting as no setting. id must be an SETTING_ENV row.
 * Borrowed from the environment: valid until the variable is changed. */
const char *settings_env(enum setting_id id);

/* A SETTING_INTEGER variable: its value, else (unset or empty) the row's
 * default, into *out. Returns 0, or -1 with a ConfigurationError naming the
 * variable when the value is not a decimal integer within the row's bounds. */
int settings_env_integer(enum setting_id id, long long *out, struct error *err);

/* Writes "usage: PROGRAM [--flag VALUE] ... [EVENT_FILE]", wrapped: every
 * flag but --help and --version, then the operand. */
void settings_write_usage(FILE *f, const char *program);

/* Writes the rows of one kind for --help: each name (with its value) and its
 * help, wrapped at 100 columns, with the default and bounds. */
void settings_write_help(FILE *f, enum setting_kind kind);

/* Writes the table as a Markdown table (README.md's "Settings"), one row per
 * setting, flags and operand first. */
void settings_write_markdown(FILE *f);

#endif
