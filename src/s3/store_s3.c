#include "s3/store_s3.h"

#include <stdlib.h>

#include "http.h"
#include "log.h"
#include "s3/client.h"
#include "s3/credentials.h"
#include "s3/get.h"
#include "s3/put.h"

/* The store owns the configuration and credentials its clients borrow. */
struct store_s3 {
    struct store base;
    struct s3_config cfg;
    struct aws_credentials creds;
    struct s3_client *client; /* the caller's thread: reads, PutObject */
    struct s3_client *spare;  /* an upload client kept for the next writer; NULL none */
};

static struct store_s3 *store_s3_of(struct store *base)
{
    return (struct store_s3 *)base;
}

static int s3_open_read(struct store *base, const char *bucket, const char *key,
                        struct store_reader **out, struct error *err)
{
    return s3_get_open(store_s3_of(base)->client, bucket, key, out, err);
}

static int s3_open_write(struct store *base, const char *bucket, const char *key,
                         struct store_writer **out, struct error *err)
{
    struct store_s3 *s = store_s3_of(base);
    return s3_put_open(s->client, &s->spare, bucket, key, out, err);
}

static void s3_destroy(struct store *base)
{
    struct store_s3 *s = store_s3_of(base);
    s3_client_free(s->spare);
    s3_client_free(s->client);
    credentials_clear(&s->creds);
    free(s);
}

static void s3_set_invocation(struct store *base, const struct store_invocation *inv)
{
    s3_client_set_invocation(store_s3_of(base)->client, inv->deadline_ms, inv->trace_id);
}

static const struct store_ops s3_ops = {
    .open_read = s3_open_read,
    .read = s3_get_read,
    .close_read = s3_get_close,
    .open_write = s3_open_write,
    .write = s3_put_write,
    .commit = s3_put_commit,
    .abort = s3_put_abort,
    .destroy = s3_destroy,
    .set_invocation = s3_set_invocation,
};

struct store *store_s3_new(const struct s3_options *options, struct error *err)
{
    if (http_global_init(err) != 0)
        return NULL;
    struct store_s3 *s = calloc(1, sizeof *s);
    if (!s) {
        error_set(err, ERR_OUT_OF_MEMORY, "out of memory creating the S3 store");
        return NULL;
    }
    s->base.ops = &s3_ops;
    if (s3_config_resolve(&s->cfg, options ? options->region : NULL,
                          options ? options->endpoint_url : NULL, err) != 0) {
        free(s);
        return NULL;
    }
    if (credentials_load(&s->creds, err) != 0) {
        free(s);
        return NULL;
    }
    if (!(s->client = s3_client_new(&s->cfg, &s->creds, err))) {
        s3_destroy(&s->base);
        return NULL;
    }
    log_fields(LOG_DEBUG, "s3 store", LOG_STR("region", s->cfg.region),
               LOG_STR("endpoint", s->cfg.custom_endpoint ? s->cfg.authority : "aws"),
               LOG_STR("ca_dir", s->cfg.ca_dir[0] ? s->cfg.ca_dir : "-"),
               LOG_STR("ca_bundle", s->cfg.ca_bundle[0] ? s->cfg.ca_bundle : "(libcurl default)"),
               LOG_I64("max_attempts", s->cfg.max_attempts), LOG_U64("part_size", s->cfg.part_size),
               LOG_END);
    return &s->base;
}
