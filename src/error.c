#include "error.h"

#include <stdio.h>
#include <string.h>

#include "jsonw.h"

static void mark_truncated(char *s, size_t cap, int written)
{
    if (written >= 0 && (size_t)written >= cap && cap > 4)
        memcpy(s + cap - 4, "...", 4);
}

int error_vset(struct error *err, const char *type, const char *fmt, va_list ap)
{
    if (!err)
        return -1;
    snprintf(err->type, sizeof err->type, "%s", type);
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
