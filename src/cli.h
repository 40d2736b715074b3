/* cli: the command line, a thin shell around step_run.
 *
 *   backend-checks-results [--store DIR] [--transformation NONE|COMPACT|FLATTEN]
 *                          [--require-complete] [--region R] [--endpoint-url URL]
 *                          [--output -] [--manifest s3://BUCKET/KEY | EVENT_FILE|-]
 *
 * Success: the reply on stdout, exit 0. Failure: nothing on stdout, the error
 * document as the last line of stderr, exit 1. Usage errors: exit 2.
 * results.json written (committed) is the end of the run: a reply that cannot
 * be printed after it is logged as an error, and the exit is still 0 (the
 * object exists; a retry would write a second one). A stdout that was closed
 * at start is refused before anything is read or written.
 * With --output -, results.json goes to stdout and the reply to stderr; a
 * failure leaves stdout without a complete document (see store_fd.h). stdout
 * and stderr on one regular file or pipe (`>> log 2>&1`) are refused, as log
 * lines would be mixed into the document.
 * Stopped by SIGTERM or SIGINT (handlers installed by main): an Interrupted
 * error, nothing written, exit 143 or 130. */
#ifndef BCR_CLI_H
#define BCR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "options.h"

struct cli_options {
    struct run_options run; /* --store, --region, --endpoint-url, --output -,
                               --transformation, --require-complete */
    const char *event_path; /* NULL or "-" for stdin */
    const char *manifest;   /* --manifest, or NULL; never set with event_path */
    bool stdout_closed;     /* stdout was closed at start (main put /dev/null there):
                               cli_run refuses to run, as what it prints would be lost */
};

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2, CLI_EXIT = 3 /* --help, --version done */ };

/* Parses argv into opts (pointers borrow from argv). Returns CLI_OK, CLI_USAGE
 * (message printed) or CLI_EXIT (help or version printed). */
int cli_parse(int argc, char **argv, struct cli_options *opts);

/* Writes --help: the synopsis, then the flags, the operand and the
 * environment variables of the settings table (settings.h), in prose. */
void cli_write_help(FILE *f);

/* Runs the step once as the command line does; returns the exit status. */
int cli_run(const struct cli_options *opts);

/* Reads a whole event file (or stdin for NULL / "-") of at most EVENT_MAX_BYTES.
 * Caller frees *data. */
int cli_read_event(const char *path, char **data, size_t *len, struct error *err);

/* Builds the event for a manifest named as s3://BUCKET/KEY or BUCKET/KEY: a
 * heap JSON document (caller frees *event) of *len bytes. A name with no
 * bucket or no key is InvalidEvent. */
int cli_manifest_event(const char *manifest, char **event, size_t *len, struct error *err);

#endif
