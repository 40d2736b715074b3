#define _POSIX_C_SOURCE 200809L
#include "log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "jsonw.h"

static const char *const level_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

static struct {
    enum log_level min_level;
    bool json;
    FILE *stream;
    char request_id[128];
} state = {LOG_INFO, false, NULL, ""};

void log_init_from_env(void)
{
    const char *format = getenv("AWS_LAMBDA_LOG_FORMAT");
    state.json = format && strcasecmp(format, "JSON") == 0;
    state.min_level = LOG_INFO;
    const char *level = getenv("AWS_LAMBDA_LOG_LEVEL");
    for (size_t i = 0; level && i < sizeof level_names / sizeof *level_names; i++)
        if (strcasecmp(level, level_names[i]) == 0)
            state.min_level = (enum log_level)i;
}

void log_set_stream(FILE *stream)
{
    state.stream = stream;
}

void log_set_request_id(const char *request_id)
{
    snprintf(state.request_id, sizeof state.request_id, "%s", request_id ? request_id : "");
}

bool log_enabled(enum log_level level)
{
    return level >= state.min_level;
}

static FILE *out(void)
{
    return state.stream ? state.stream : stderr;
}

static void timestamp(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Appends text for a plain-text line: control characters become escapes, so
 * a value (an object key, say) can never start a forged line of its own. */
static void text_escaped(struct jsonw *w, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p >= 0x20 && *p != 0x7f) {
            jsonw_rawn(w, (const char *)p, 1);
        } else if (*p == '\n') {
            jsonw_raw(w, "\\n");
        } else if (*p == '\r') {
            jsonw_raw(w, "\\r");
        } else if (*p == '\t') {
            jsonw_raw(w, "\\t");
        } else {
            char escape[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};
            jsonw_rawn(w, escape, sizeof escape);
        }
    }
}

/* One line, built whole and written with one call so concurrent writers (the
 * Lambda service reads stderr) never see half a line. */
static void emit(enum log_level level, const char *message, va_list *fields)
{
    char line[8192], ts[40];
    struct jsonw w;
    jsonw_init(&w, line, sizeof line - 1);
    timestamp(ts, sizeof ts);
    if (state.json) {
        jsonw_raw(&w, "{\"timestamp\":");
        jsonw_string(&w, ts);
        jsonw_raw(&w, ",\"level\":");
        jsonw_string(&w, level_names[level]);
        if (state.request_id[0]) {
            jsonw_raw(&w, ",\"requestId\":");
            jsonw_string(&w, state.request_id);
        }
        jsonw_raw(&w, ",\"message\":");
        jsonw_string(&w, message);
        for (const char *name; fields && (name = va_arg(*fields, const char *));) {
            const char *value = va_arg(*fields, const char *);
            jsonw_raw(&w, ",");
            jsonw_string(&w, name);
            jsonw_raw(&w, ":");
            jsonw_string(&w, value ? value : "");
        }
        jsonw_raw(&w, "}");
    } else {
        jsonw_raw(&w, ts);
        jsonw_raw(&w, " ");
        jsonw_raw(&w, level_names[level]);
        if (state.request_id[0]) {
            jsonw_raw(&w, " ");
            jsonw_raw(&w, state.request_id);
        }
        jsonw_raw(&w, " ");
        text_escaped(&w, message);
        for (const char *name; fields && (name = va_arg(*fields, const char *));) {
            const char *value = va_arg(*fields, const char *);
            jsonw_raw(&w, " ");
            text_escaped(&w, name);
            jsonw_raw(&w, "=");
            text_escaped(&w, value ? value : "");
        }
    }
    int n = jsonw_finish(&w);
    if (n < 0) {
        /* Too long for one line: say so, in the line format in force, rather
         * than cut a JSON object in half. */
        if (state.json)
            fprintf(out(),
                    "{\"timestamp\":\"%s\",\"level\":\"%s\",\"message\":\"log line longer than "
                    "%zu bytes dropped\"}\n",
                    ts, level_names[level], sizeof line);
        else
            fprintf(out(), "%s %s log line longer than %zu bytes dropped\n", ts, level_names[level],
                    sizeof line);
        return;
    }
    line[n] = '\n';
    fwrite(line, 1, (size_t)n + 1, out());
    fflush(out());
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char message[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof message)
        memcpy(message + sizeof message - 4, "...", 4); /* cut, visibly */
    emit(level, message, NULL);
}

void log_fields(enum log_level level, const char *message, ...)
{
    if (!log_enabled(level))
        return;
    va_list ap;
    va_start(ap, message);
    emit(level, message, &ap);
    va_end(ap);
}

void log_raw_line(const char *line)
{
    fprintf(out(), "%s\n", line);
    fflush(out());
}
