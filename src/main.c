/* backend-checks-results: the command line, or the Lambda runtime loop when
 * AWS_LAMBDA_RUNTIME_API is set and no event file is given. */
#include <stdlib.h>

#include "cli.h"
#include "log.h"

int main(int argc, char **argv)
{
    log_init_from_env();
    struct cli_options opts;
    int rc = cli_parse(argc, argv, &opts);
    if (rc == CLI_EXIT)
        return 0;
    if (rc != CLI_OK)
        return rc;
    return cli_run(&opts);
}
