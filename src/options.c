#include "options.h"

#include <unistd.h>

#include "store_dir.h"
#include "store_fd.h"
#include "s3/store_s3.h"

struct store *options_open_store(const struct run_options *opts, struct error *err)
{
    struct store *store;
    if (opts->store_dir) {
        store = store_dir_new(opts->store_dir, err);
    } else {
        struct s3_options s3 = {opts->region, opts->endpoint_url};
        store = store_s3_new(&s3, err);
    }
    if (store && opts->output_stdout)
        store = store_fd_new(store, STDOUT_FILENO, "stdout", err);
    return store;
}

const char *options_store_kind(const struct run_options *opts)
{
    return opts->store_dir ? "directory" : "s3";
}
