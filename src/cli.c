#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "build_info.h"
#include "event.h"
#include "interrupt.h"
#include "jsonw.h"
#include "log.h"
#include "settings.h"
#include "step.h"
#include "util.h"

/* The prose around the table's rows in --help. */
static const char about[] =
    "\n"
    "Aggregates the results of a Step Functions Distributed Map (the manifest named by the\n"
    "event, and every SUCCEEDED result file) into {consignment_id}/{uuid}/results.json.\n"
    "The event is read from EVENT_FILE, or stdin when it is '-' or absent.\n"
    "\n";
static const char outcome[] =
    "\n"
    "Credentials as the AWS CLI finds them: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, else\n"
    "the AWS_PROFILE profile (default \"default\"): its keys in the shared credentials file,\n"
    "then its credential_process in the config file (which serves SSO sign-ins), then its\n"
    "keys there.\n"
    "\n"
    "Prints {\"key\": ..., \"bucket\": ...} on success (exit 0). On failure prints nothing on\n"
    "stdout and {\"errorType\": ..., \"errorMessage\": ...} as the last line of stderr (exit 1),\n"
    "after an ERROR log line giving where (the operation and object) when the failure was met\n"
    "at an object of the store.\n"
    "When AWS_LAMBDA_RUNTIME_API is set and no EVENT_FILE is given, serves Lambda invocations.\n";

void cli_write_help(FILE *f)
{
    settings_write_usage(f, "backend-checks-results");
    fputs(about, f);
    settings_write_help(f, SETTING_FLAG);
    settings_write_help(f, SETTING_OPERAND);
    fputs("\nEnvironment (an empty variable counts as unset):\n", f);
    settings_write_help(f, SETTING_ENV);
    fputs(outcome, f);
}

/* Prints "backend-checks-results: MESSAGE" and the help to stderr; returns
 * CLI_USAGE. */
__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("backend-checks-results: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cli_write_help(stderr);
    return CLI_USAGE;
}

/* getopt's options, one for each flag of the settings table: an option's
 * value is OPT_BASE + its setting id. out holds SETTING_COUNT + 1. */
enum { OPT_BASE = 256 };
static void flag_options(struct option *out)
{
    size_t n = 0;
    for (int id = 0; id < SETTING_COUNT; id++) {
        const struct setting *s = &settings_table[id];
        if (s->kind == SETTING_FLAG)
            out[n++] = (struct option){s->name + 2,
                                       s->type == SETTING_SWITCH ? no_argument : required_argument,
                                       NULL, OPT_BASE + id};
    }
    out[n] = (struct option){NULL, 0, NULL, 0};
}

/* Applies one flag (its value in arg) to opts: CLI_OK, CLI_USAGE or CLI_EXIT. */
static int apply_flag(enum setting_id id, const char *arg, struct cli_options *opts)
{
    switch (id) {
    case SETTING_OPT_STORE:
        opts->run.store_dir = arg;
        break;
    case SETTING_OPT_TRANSFORMATION:
        if (result_reader_transformation_parse(arg, &opts->run.transformation) != 0)
            return usage_error("unknown transformation '%s'", arg);
        break;
    case SETTING_OPT_REQUIRE_COMPLETE:
        opts->run.require_complete = true;
        break;
    case SETTING_OPT_REGION:
        opts->run.region = arg;
        break;
    case SETTING_OPT_ENDPOINT_URL:
        opts->run.endpoint_url = arg;
        break;
    case SETTING_OPT_MANIFEST:
        opts->manifest = arg;
        break;
    case SETTING_OPT_OUTPUT:
        if (strcmp(arg, "-") != 0)
            return usage_error("--output takes only '-' (stdout), not '%s'", arg);
        opts->run.output_stdout = true;
        break;
    case SETTING_OPT_HELP:
        cli_write_help(stdout);
        return CLI_EXIT;
    case SETTING_OPT_VERSION:
        build_info_print(stdout);
        return CLI_EXIT;
    default:
        assert(!"a flag of the settings table that cli does not apply");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* What is left after the flags: at most one event file, and not with --manifest. */
static int check_operands(int argc, char **argv, struct cli_options *opts)
{
    if (argc - optind > 1)
        return usage_error("more than one event file given");
    opts->event_path = optind < argc ? argv[optind] : NULL;
    if (opts->manifest && opts->event_path)
        return usage_error("--manifest and an event file (%s) are mutually exclusive: the event "
                           "is built from the manifest",
                           opts->event_path);
    if (opts->manifest && strncmp(opts->manifest, "s3://", 5) != 0 && !opts->run.store_dir)
        return usage_error(
            "--manifest %s is not s3://BUCKET/KEY (a plain BUCKET/KEY needs --store)",
            opts->manifest);
    return CLI_OK;
}

int cli_parse(int argc, char **argv, struct cli_options *opts)
{
    struct option longopts[SETTING_COUNT + 1];
    flag_options(longopts);
    memset(opts, 0, sizeof *opts);
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        int rc = c >= OPT_BASE ? apply_flag((enum setting_id)(c - OPT_BASE), optarg, opts)
                               : usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        if (rc != CLI_OK)
            return rc;
    }
    return check_operands(argc, argv, opts);
}

int cli_read_event(const char *path, char **data, size_t *len, struct error *err)
{
    bool use_stdin = !path || strcmp(path, "-") == 0;
    FILE *f = use_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return error_set(err, ERR_INVALID_EVENT, "cannot open event file %s: %s", path,
                         strerror(errno));
    struct buf b;
    buf_init(&b, EVENT_MAX_BYTES);
    int rc = 0;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        enum buf_result grown = buf_append(&b, chunk, n, err);
        if (grown != BUF_OK) {
            rc = grown == BUF_NO_MEMORY
                     ? -1
                     : error_set(err, ERR_INVALID_EVENT,
                                 "event is larger than the %u bytes allowed", EVENT_MAX_BYTES);
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = error_set(err, ERR_INVALID_EVENT, "reading the event from %s: %s",
                       use_stdin ? "stdin" : path, strerror(errno));
    if (!use_stdin)
        fclose(f);
    if (rc != 0) {
        buf_free(&b);
        return -1;
    }
    *data = b.data ? (char *)b.data : strdup("");
    *len = b.len;
    return *data ? 0 : error_set(err, ERR_OUT_OF_MEMORY, "out of memory");
}

/* The progress line, on a terminal only: redrawn in place a few times a second. */
struct progress {
    bool enabled;
    bool drawn;
    int64_t start_ms, last_ms; /* monotonic */
};

static void show_progress(const struct read_stats *stats, void *ctx)
{
    struct progress *p = ctx;
    int64_t now = util_monotonic_ms();
    if (!p->enabled || now - p->last_ms < 200)
        return;
    p->last_ms = now;
    double elapsed = (double)(now - p->start_ms) / 1e3;
    double mb = (double)stats->bytes_read / 1e6;
    fprintf(stderr, "\r\033[K%llu entries, %llu files, %.1f MB read, %.1f MB/s",
            (unsigned long long)stats->entries, (unsigned long long)stats->result_files, mb,
            elapsed > 0 ? mb / elapsed : 0.0);
    p->drawn = true;
}

int cli_manifest_event(const char *manifest, char **event, size_t *len, struct error *err)
{
    const char *path = strncmp(manifest, "s3://", 5) == 0 ? manifest + 5 : manifest;
    size_t bucket_len = strcspn(path, "/");
    if (bucket_len == 0 || path[bucket_len] != '/' || path[bucket_len + 1] == '\0')
        return error_set(err, ERR_INVALID_EVENT,
                         "--manifest %s does not name an object as s3://BUCKET/KEY", manifest);
    size_t cap = strlen(path) * 6 + 96; /* every byte escaped at worst */
    char *doc = malloc(cap);
    if (!doc)
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory building the event");
    struct jsonw w;
    jsonw_init(&w, doc, cap);
    jsonw_raw(&w, "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": ");
    jsonw_stringn(&w, path, bucket_len);
    jsonw_raw(&w, ", \"Key\": ");
    jsonw_string(&w, path + bucket_len + 1);
    jsonw_raw(&w, "}}}");
    int n = jsonw_finish(&w);
    if (n < 0) {
        free(doc);
        return error_set(err, ERR_INVALID_EVENT, "--manifest %.200s... is too long", manifest);
    }
    *event = doc;
    *len = (size_t)n;
    return 0;
}

static int stop_on_signal(void *ctx, struct error *err)
{
    (void)ctx;
    return interrupt_check(err);
}

/* The location, when the error has one, as an ERROR log line just before the
 * error document, which holds only what a Lambda function error holds. */
static void print_error(const struct error *err)
{
    if (err->where[0])
        log_fields(LOG_ERROR, "failed", LOG_STR("errorType", err->type),
                   LOG_STR("where", err->where), LOG_END);
    char doc[ERROR_MESSAGE_MAX * 6 + 128];
    if (error_to_json(err, doc, sizeof doc) < 0)
        snprintf(doc, sizeof doc, "{\"errorType\": \"%s\", \"errorMessage\": \"\"}", err->type);
    fprintf(stderr, "%s\n", doc);
}

/* What makes a run's output unusable before it starts: a stdout closed at
 * start (what is printed there would be lost), or, with --output -, stdout
 * and stderr on one file or pipe (log lines would land inside results.json,
 * and cutting a failed document back would take them with it). */
static int check_destinations(const struct cli_options *opts, struct error *err)
{
    if (opts->stdout_closed)
        return error_set(err, ERR_IO,
                         "stdout is closed: %s would be lost, so nothing is read or written",
                         opts->run.output_stdout ? "results.json" : "the reply");
    struct stat out, log;
    if (opts->run.output_stdout && fstat(STDOUT_FILENO, &out) == 0 &&
        fstat(STDERR_FILENO, &log) == 0 && out.st_dev == log.st_dev && out.st_ino == log.st_ino &&
        (S_ISREG(out.st_mode) || S_ISFIFO(out.st_mode)))
        return error_set(err, ERR_IO,
                         "--output -: stdout and stderr are the same %s, so log lines would be "
                         "mixed into results.json; send stderr elsewhere",
                         S_ISREG(out.st_mode) ? "file" : "pipe");
    return 0;
}

int cli_run(const struct cli_options *opts)
{
    struct error err = {0};
    char *event = NULL;
    size_t event_len = 0;
    struct store *store = NULL;
    struct progress progress = {.enabled = isatty(STDERR_FILENO) == 1};
    struct step_options step = {opts->run.transformation,
                                {show_progress, stop_on_signal, &progress},
                                opts->run.require_complete};
    struct step_reply reply;
    struct step_stats stats;
    int status = CLI_FAILED;
    /* With results.json on stdout, the reply goes to stderr. */
    FILE *reply_to = opts->run.output_stdout ? stderr : stdout;
    const char *reply_name = opts->run.output_stdout ? "stderr" : "stdout";

    /* A reader that goes away (`| head`) is a write error with a message, not a
     * silent death by signal; so is a file over the size limit (ulimit -f). */
    signal(SIGXFSZ, SIG_IGN);
    if (opts->run.output_stdout)
        signal(SIGPIPE, SIG_IGN);
    progress.start_ms = progress.last_ms = util_monotonic_ms();
    int got_event = check_destinations(opts, &err) != 0 ? -1
                    : opts->manifest ? cli_manifest_event(opts->manifest, &event, &event_len, &err)
                                     : cli_read_event(opts->event_path, &event, &event_len, &err);
    if (got_event == 0 && (store = options_open_store(&opts->run, &err)) != NULL &&
        step_run(event, event_len, store, &step, &reply, &stats, &err) == 0)
        status = CLI_OK;
    if (progress.drawn)
        fputs("\r\033[K", stderr);
    /* results.json on a terminal ends without a newline: the line stderr
     * prints after it there starts on a line of its own. */
    if (opts->run.output_stdout && isatty(STDOUT_FILENO) == 1 && isatty(STDERR_FILENO) == 1)
        fputc('\n', stderr);
    if (status == CLI_OK) {
        log_fields(LOG_INFO, "results written", LOG_STR("bucket", reply.bucket),
                   LOG_STR("key", reply.key), LOG_U64("entries", stats.read.entries),
                   LOG_I64("duration_ms", util_monotonic_ms() - progress.start_ms), LOG_END);
        /* results.json is committed: the run is done. A reply lost now is
         * reported, not turned into a failure that a retry would answer with
         * a second results.json. */
        char doc[STEP_KEY_MAX * 6 + STEP_BUCKET_MAX * 6 + 64];
        errno = 0;
        bool lost =
            step_reply_json(&reply, doc, sizeof doc) < 0 || fprintf(reply_to, "%s\n", doc) < 0;
        if (fflush(reply_to) != 0 || ferror(reply_to) || lost)
            log_fields(LOG_ERROR, "results.json was written but the reply could not be printed",
                       LOG_STR("to", reply_name),
                       LOG_STR("reason", errno ? strerror(errno) : "unknown"),
                       LOG_STR("bucket", reply.bucket), LOG_STR("key", reply.key), LOG_END);
    } else {
        /* Whatever the signal cut short (a read of the event, a transfer) says
         * less than the signal itself. */
        if (interrupt_signal()) {
            interrupt_check(&err);
            status = interrupt_exit_status();
        }
        print_error(&err);
    }
    store_destroy(store);
    free(event);
    return status;
}
