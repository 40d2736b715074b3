/* log: leveled logging to stderr, as Lambda expects it.
 *
 * AWS_LAMBDA_LOG_FORMAT=JSON gives one JSON object per line (timestamp, level,
 * requestId, message and fields); anything else gives plain text in the shape
 * of Lambda's managed runtimes: timestamp, request id (empty outside an
 * invocation), level and message separated by tabs, then name=value fields.
 * AWS_LAMBDA_LOG_LEVEL (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) filters; the
 * default is INFO. Never pass a secret (key, token, signature) to a log call. */
#ifndef BCR_LOG_H
#define BCR_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum log_level { LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL };

/* Sets the format and level from the values of the two variables above (NULL
 * when unset; the shell reads them: settings.h). Safe to call again (tests do). */
void log_configure(const char *format, const char *level);
/* Where lines go (default stderr). The stream is borrowed. */
void log_set_stream(FILE *stream);
/* The invocation's request id, put on every line until cleared with NULL. Copied. */
void log_set_request_id(const char *request_id);
bool log_enabled(enum log_level level);
/* Logs a printf-formatted message. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends the field list of log_fields: a typed null pointer, as varargs need. */
#define LOG_END ((const char *)NULL)

/* Typed fields: a triple (tag, name, value) whose tag is the address of one of
 * these arrays, which no name string can share. In JSON the value is a string,
 * a number or true/false; in text it is written as it reads. */
extern const char log_tag_str[], log_tag_u64[], log_tag_i64[], log_tag_bool[];
#define LOG_STR(name, v) log_tag_str, (const char *)(name), (const char *)(v)
#define LOG_U64(name, v) log_tag_u64, (const char *)(name), (uint64_t)(v)
#define LOG_I64(name, v) log_tag_i64, (const char *)(name), (int64_t)(v)
#define LOG_BOOL(name, v) log_tag_bool, (const char *)(name), (int)((v) ? 1 : 0)

/* Logs a message with extra fields ending with LOG_END: typed fields (above)
 * and plain (name, value) string pairs, in any mix. A NULL string value is
 * written as "". In JSON they become members; in text, name=value after the
 * message. */
void log_fields(enum log_level level, const char *message, ...) __attribute__((sentinel));

/* The name of the lowest level that AWS_LAMBDA_LOG_LEVEL lets through, never
 * below INFO ("INFO", "WARN", ...; static storage): Lambda's log-level filter
 * drops a JSON line whose "level" is below the function's application log
 * level, and counts a line without a valid level and RFC 3339 timestamp as
 * INFO, so a record that must always arrive carries this level. */
const char *log_passing_level_name(void);

/* Writes ms since the Unix epoch as RFC 3339 UTC with milliseconds
 * ("2025-02-04T01:49:50.099Z") into buf (at least 32 bytes). */
void log_format_time(int64_t ms, char *buf, size_t cap);

/* Writes one line exactly as given (already JSON), whatever the format and
 * level: for CloudWatch Embedded Metric Format records, which are metrics, not
 * log messages, so AWS_LAMBDA_LOG_LEVEL does not drop them here. (Lambda's own
 * filter reads the line's "level": see log_passing_level_name.) */
void log_raw_line(const char *line);

#endif
