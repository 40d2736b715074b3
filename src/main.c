/* backend-checks-results: the command line, or the Lambda runtime loop when
 * AWS_LAMBDA_RUNTIME_API is set and neither an event file nor the replay
 * options (--manifest, --output) are given. */
#include <stdio.h>

#include "cli.h"
#include "interrupt.h"
#include "lambda.h"
#include "log.h"
#include "util.h"

int main(int argc, char **argv)
{
    log_init_from_env();
    struct cli_options opts;
    int rc = cli_parse(argc, argv, &opts);
    if (rc == CLI_EXIT)
        return 0;
    if (rc != CLI_OK)
        return rc;
    struct error err;
    if (interrupt_install(&err) != 0) {
        fprintf(stderr, "backend-checks-results: %s\n", err.message);
        return CLI_FAILED;
    }
    const char *runtime_api = env_get("AWS_LAMBDA_RUNTIME_API");
    if (runtime_api && !opts.event_path && !opts.manifest && !opts.run.output_stdout)
        rc = lambda_run(runtime_api, &opts.run);
    else
        rc = cli_run(&opts);
    interrupt_uninstall();
    return rc;
}
