#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "event.h"
#include "interrupt.h"
#include "log.h"
#include "store_dir.h"
#include "store_s3.h"
#include "version.h"

static const char usage[] =
    "usage: backend-checks-results [--store DIR] [--transformation NONE|COMPACT|FLATTEN]\n"
    "                              [--region REGION] [--endpoint-url URL] [EVENT_FILE|-]\n"
    "\n"
    "Aggregates the results of a Step Functions Distributed Map (the manifest named by the\n"
    "event, and every SUCCEEDED result file) into {consignment_id}/{uuid}/results.json.\n"
    "The event is read from EVENT_FILE, or stdin when it is '-' or absent.\n"
    "\n"
    "  --store DIR           directory object store: object BUCKET/KEY is DIR/BUCKET/KEY\n"
    "                        (default: S3, with credentials and region from the environment)\n"
    "  --transformation T    the ResultWriter's Transformation: NONE (default), COMPACT, FLATTEN\n"
    "  --region REGION       S3 region (default: AWS_REGION, then AWS_DEFAULT_REGION)\n"
    "  --endpoint-url URL    S3 endpoint, path-style (default: AWS_ENDPOINT_URL_S3,\n"
    "                        then AWS_ENDPOINT_URL, then AWS)\n"
    "  --help, --version\n"
    "\n"
    "Prints {\"key\": ..., \"bucket\": ...} on success (exit 0). On failure prints nothing on\n"
    "stdout and {\"errorType\": ..., \"errorMessage\": ...} as the last line of stderr (exit 1).\n"
    "When AWS_LAMBDA_RUNTIME_API is set and no EVENT_FILE is given, serves Lambda invocations.\n";

int cli_parse(int argc, char **argv, struct cli_options *opts)
{
    enum { OPT_STORE = 256, OPT_TRANSFORMATION, OPT_REGION, OPT_ENDPOINT, OPT_HELP, OPT_VERSION };
    static const struct option longopts[] = {
        {"store", required_argument, NULL, OPT_STORE},
        {"transformation", required_argument, NULL, OPT_TRANSFORMATION},
        {"region", required_argument, NULL, OPT_REGION},
        {"endpoint-url", required_argument, NULL, OPT_ENDPOINT},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    memset(opts, 0, sizeof *opts);
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_STORE:
            opts->store_dir = optarg;
            break;
        case OPT_TRANSFORMATION:
            if (transformation_parse(optarg, &opts->transformation) != 0) {
                fprintf(stderr, "backend-checks-results: unknown transformation '%s'\n%s", optarg,
                        usage);
                return CLI_USAGE;
            }
            break;
        case OPT_REGION:
            opts->region = optarg;
            break;
        case OPT_ENDPOINT:
            opts->endpoint_url = optarg;
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            return CLI_EXIT;
        case OPT_VERSION:
            printf("backend-checks-results %s\n", BCR_VERSION);
            return CLI_EXIT;
        default:
            fprintf(stderr, "backend-checks-results: unknown or incomplete option '%s'\n%s",
                    argv[optind - 1], usage);
            return CLI_USAGE;
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "backend-checks-results: more than one event file given\n%s", usage);
        return CLI_USAGE;
    }
    opts->event_path = optind < argc ? argv[optind] : NULL;
    return CLI_OK;
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
        int grown = buf_append(&b, chunk, n, err);
        if (grown != 0) {
            rc = grown < 0
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
    struct timespec start, last;
};

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void show_progress(const struct step_stats *stats, void *ctx)
{
    struct progress *p = ctx;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!p->enabled || seconds_between(&p->last, &now) < 0.2)
        return;
    p->last = now;
    double elapsed = seconds_between(&p->start, &now);
    double mb = (double)stats->bytes_read / 1e6;
    fprintf(stderr, "\r\033[K%llu entries, %llu files, %.1f MB read, %.1f MB/s",
            (unsigned long long)stats->entries, (unsigned long long)stats->result_files, mb,
            elapsed > 0 ? mb / elapsed : 0.0);
    p->drawn = true;
}

static int stop_on_signal(void *ctx, struct error *err)
{
    (void)ctx;
    return interrupt_check(err);
}

static struct store *open_store(const struct cli_options *opts, struct error *err)
{
    if (opts->store_dir)
        return store_dir_new(opts->store_dir, err);
    struct s3_options s3 = {opts->region, opts->endpoint_url};
    return store_s3_new(&s3, err);
}

static void print_error(const struct error *err)
{
    char doc[ERROR_MESSAGE_MAX * 6 + 128];
    if (error_to_json(err, doc, sizeof doc) < 0)
        snprintf(doc, sizeof doc, "{\"errorType\": \"%s\", \"errorMessage\": \"\"}", err->type);
    fprintf(stderr, "%s\n", doc);
}

int cli_run(const struct cli_options *opts)
{
    struct error err = {{0}, {0}};
    char *event = NULL;
    size_t event_len = 0;
    struct store *store = NULL;
    struct progress progress = {.enabled = isatty(STDERR_FILENO) == 1};
    struct step_options step = {opts->transformation, show_progress, stop_on_signal, &progress};
    struct step_reply reply;
    struct step_stats stats;
    int status = CLI_FAILED;

    clock_gettime(CLOCK_MONOTONIC, &progress.start);
    progress.last = progress.start;
    if (cli_read_event(opts->event_path, &event, &event_len, &err) == 0 &&
        (store = open_store(opts, &err)) != NULL &&
        step_run(event, event_len, store, &step, &reply, &stats, &err) == 0) {
        char doc[STEP_KEY_MAX * 6 + STEP_BUCKET_MAX * 6 + 64];
        if (step_reply_json(&reply, doc, sizeof doc) >= 0) {
            printf("%s\n", doc);
            status = fflush(stdout) == 0 ? CLI_OK : CLI_FAILED;
        }
    }
    if (progress.drawn)
        fputs("\r\033[K", stderr);
    if (status == CLI_OK) {
        char entries[24], seconds[24];
        struct timespec end;
        clock_gettime(CLOCK_MONOTONIC, &end);
        snprintf(entries, sizeof entries, "%llu", (unsigned long long)stats.entries);
        snprintf(seconds, sizeof seconds, "%.3f", seconds_between(&progress.start, &end));
        log_fields(LOG_INFO, "results written", "bucket", reply.bucket, "key", reply.key, "entries",
                   entries, "seconds", seconds, LOG_END);
    } else {
        /* Whatever the signal cut short (a read of the event, a transfer) says
         * less than the signal itself. */
        if (interrupt_signal()) {
            interrupt_check(&err);
            status = interrupt_exit_status();
        }
        if (!error_is_set(&err))
            error_set(&err, ERR_IO, "writing the reply to stdout failed");
        print_error(&err);
    }
    store_destroy(store);
    free(event);
    return status;
}
