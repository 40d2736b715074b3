#define _POSIX_C_SOURCE 200809L
#include "log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "jsonw.h"
#include "util.h"

const char log_tag_str[] = "str", log_tag_u64[] = "u64", log_tag_i64[] = "i64",
           log_tag_bool[] = "bool";

static const char *const level_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

static struct {
    enum log_level min_level;
    bool json;
    FILE *stream;
    char request_id[128];
} state = {LOG_INFO, false, NULL, ""};

void log_configure(const char *format, const char *level)
{
    state.json = format && strcasecmp(format, "JSON") == 0;
    state.min_level = LOG_INFO;
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

const char *log_passing_level_name(void)
{
    return level_names[state.min_level > LOG_INFO ? state.min_level : LOG_INFO];
}

void log_format_time(int64_t ms, char *buf, size_t cap)
{
    time_t seconds = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03dZ", (int)(ms % 1000));
}

static void timestamp(char *buf, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    log_format_time((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, buf, cap);
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

/* Reads the next field of a log_fields list into name and its value as text
 * (in value, numbers formatted into num); *quoted says whether JSON needs it
 * as a string. Returns false at LOG_END. */
static bool next_field(va_list *fields, const char **name, const char **value, bool *quoted,
                       char *num, size_t cap)
{
    const char *first = va_arg(*fields, const char *);
    if (!first)
        return false;
    *quoted = false;
    if (first == log_tag_u64) {
        *name = va_arg(*fields, const char *);
        snprintf(num, cap, "%" PRIu64, va_arg(*fields, uint64_t));
        *value = num;
    } else if (first == log_tag_i64) {
        *name = va_arg(*fields, const char *);
        snprintf(num, cap, "%" PRId64, va_arg(*fields, int64_t));
        *value = num;
    } else if (first == log_tag_bool) {
        *name = va_arg(*fields, const char *);
        *value = va_arg(*fields, int) ? "true" : "false";
    } else {
        *name = first == log_tag_str ? va_arg(*fields, const char *) : first;
        *value = va_arg(*fields, const char *);
        *quoted = true;
    }
    if (!*name)
        *name = "";
    if (!*value)
        *value = "";
    return true;
}

/* One line, built whole and written with one call so concurrent writers (the
 * Lambda service reads stderr) never see half a line. */
static void emit(enum log_level level, const char *message, va_list *fields)
{
    char line[8192], ts[40], num[24];
    const char *name, *value;
    bool quoted;
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
        while (fields && next_field(fields, &name, &value, &quoted, num, sizeof num)) {
            jsonw_raw(&w, ",");
            jsonw_string(&w, name);
            jsonw_raw(&w, ":");
            if (quoted)
                jsonw_string(&w, value);
            else
                jsonw_raw(&w, value);
        }
        jsonw_raw(&w, "}");
    } else {
        /* The managed runtimes' columns: time, request id, level, message. */
        jsonw_raw(&w, ts);
        jsonw_raw(&w, "\t");
        text_escaped(&w, state.request_id);
        jsonw_raw(&w, "\t");
        jsonw_raw(&w, level_names[level]);
        jsonw_raw(&w, "\t");
        text_escaped(&w, message);
        while (fields && next_field(fields, &name, &value, &quoted, num, sizeof num)) {
            jsonw_raw(&w, " ");
            text_escaped(&w, name);
            jsonw_raw(&w, "=");
            text_escaped(&w, value);
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
            fprintf(out(), "%s\t\t%s\tlog line longer than %zu bytes dropped\n", ts,
                    level_names[level], sizeof line);
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
