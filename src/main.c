/* backend-checks-results: the command line, or the Lambda runtime loop when
 * AWS_LAMBDA_RUNTIME_API is set and neither an event file nor the replay
 * options (--manifest, --output) are given. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "interrupt.h"
#include "lambda.h"
#include "log.h"
#include "settings.h"

/* Opens each of descriptors 0, 1 and 2 that is closed on /dev/null, before
 * anything else opens a descriptor: a library's own (libcurl's socket pair)
 * given number 1 would receive what is printed to stdout. Returns the set of
 * those that were closed (bit n for descriptor n), or -1 if one cannot be
 * opened. */
static int open_standard_descriptors(void)
{
    int closed = 0;
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        /* The lowest free number: fd itself, as the ones below it are open. */
        if (open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY) != fd)
            return -1;
        closed |= 1 << fd;
    }
    return closed;
}

int main(int argc, char **argv)
{
    int closed = open_standard_descriptors();
    if (closed < 0)
        return CLI_FAILED;
    log_configure(settings_env(SETTING_AWS_LAMBDA_LOG_FORMAT),
                  settings_env(SETTING_AWS_LAMBDA_LOG_LEVEL));
    struct cli_options opts;
    int rc = cli_parse(argc, argv, &opts);
    if (rc == CLI_EXIT)
        return 0;
    if (rc != CLI_OK)
        return rc;
    opts.stdout_closed = closed & (1 << STDOUT_FILENO);
    struct error err;
    if (interrupt_install(&err) != 0) {
        fprintf(stderr, "backend-checks-results: %s\n", err.message);
        return CLI_FAILED;
    }
    const char *runtime_api = settings_env(SETTING_AWS_LAMBDA_RUNTIME_API);
    if (runtime_api && !opts.event_path && !opts.manifest && !opts.run.output_stdout)
        rc = lambda_run(runtime_api, &opts.run);
    else
        rc = cli_run(&opts);
    interrupt_uninstall();
    return rc;
}
