#include "error.h"

#include <stdio.h>
#include <string.h>

#include "jsonw.h"

static void mark_truncated(char *s, size_t cap, int written)
{
    if (written >= 0 && (size_t)written >= cap && cap > 4)
        memcpy(s + cap - 4, "...", 4);
}

static const struct {
    enum error_kind kind;
    const char *type;
} kinds[] = {
    {ERROR_KIND_INVALID_EVENT, ERR_INVALID_EVENT},
    {ERROR_KIND_INVALID_MANIFEST, ERR_INVALID_MANIFEST},
    {ERROR_KIND_INCOMPLETE_MAP_RUN, ERR_INCOMPLETE_MAP_RUN},
    {ERROR_KIND_INVALID_RESULT_FILE, ERR_INVALID_RESULT_FILE},
    {ERROR_KIND_INVALID_OUTPUT, ERR_INVALID_OUTPUT},
    {ERROR_KIND_INVALID_KEY, ERR_INVALID_KEY},
    {ERROR_KIND_NO_SUCH_BUCKET, ERR_NO_SUCH_BUCKET},
    {ERROR_KIND_NO_SUCH_KEY, ERR_NO_SUCH_KEY},
    {ERROR_KIND_IO, ERR_IO},
    {ERROR_KIND_OUT_OF_MEMORY, ERR_OUT_OF_MEMORY},
    {ERROR_KIND_CONFIG, ERR_CONFIG},
    {ERROR_KIND_TIMEOUT, ERR_TIMEOUT},
    {ERROR_KIND_INTERRUPTED, ERR_INTERRUPTED},
    {ERROR_KIND_NO_SUCH_UPLOAD, ERR_NO_SUCH_UPLOAD},
    {ERROR_KIND_PRECONDITION_FAILED, ERR_PRECONDITION_FAILED},
};

enum error_kind error_kind_of(const char *type)
{
    if (!type || !*type)
        return ERROR_KIND_NONE;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(type, kinds[i].type) == 0)
            return kinds[i].kind;
    return ERROR_KIND_S3;
}

int error_vset(struct error *err, const char *type, const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    snprintf(err->type, sizeof err->type, "%s", type);
    err->kind = error_kind_of(err->type);
    int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
    mark_truncated(err->message, sizeof err->message, n);
    err->where[0] = '\0';
    return -1;
}

int error_set(struct error *err, const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, type, fmt, ap);
    va_end(ap);
    return -1;
}

void error_where(struct error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->where, sizeof err->where, fmt, ap);
    va_end(ap);
    mark_truncated(err->where, sizeof err->where, n);
}

void error_prefix(struct error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char joined[ERROR_MESSAGE_MAX];
    int n = snprintf(joined, sizeof joined, "%s%s", prefix, err->message);
    mark_truncated(joined, sizeof joined, n);
    memcpy(err->message, joined, sizeof joined);
}

bool error_is_set(const struct error *err)
{
    return err && err->type[0] != '\0';
}

void error_clear(struct error *err)
{
    if (err) {
        err->kind = ERROR_KIND_NONE;
        err->type[0] = '\0';
        err->message[0] = '\0';
        err->where[0] = '\0';
    }
}

int error_to_json(const struct error *err, char *out, size_t cap)
{
    struct jsonw w;
    jsonw_init(&w, out, cap);
    jsonw_raw(&w, "{\"errorType\": ");
    jsonw_string(&w, err->type);
    jsonw_raw(&w, ", \"errorMessage\": ");
    jsonw_string(&w, err->message);
    jsonw_raw(&w, "}");
    return jsonw_finish(&w);
}
