/* log: leveled logging to stderr, as Lambda expects it.
 *
 * AWS_LAMBDA_LOG_FORMAT=JSON gives one JSON object per line (timestamp, level,
 * requestId, message and fields); anything else gives plain text.
 * AWS_LAMBDA_LOG_LEVEL (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) filters; the
 * default is INFO. Never pass a secret (key, token, signature) to a log call. */
#ifndef BCR_LOG_H
#define BCR_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum log_level { LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL };

/* Reads the two variables above. Safe to call again (tests do). */
void log_init_from_env(void);
/* Where lines go (default stderr). The stream is borrowed. */
void log_set_stream(FILE *stream);
/* The invocation's request id, put on every line until cleared with NULL. Copied. */
void log_set_request_id(const char *request_id);
bool log_enabled(enum log_level level);
/* Logs a printf-formatted message. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends the field list of log_fields: a typed null pointer, as varargs need. */
#define LOG_END ((const char *)NULL)
/* Logs a message with extra fields: pairs of (name, value) strings ending with
 * LOG_END. In JSON they become members; in text, name=value after the message. */
void log_fields(enum log_level level, const char *message, ...) __attribute__((sentinel));
/* Writes one line exactly as given (already JSON), whatever the format and
 * level: for CloudWatch Embedded Metric Format records, which are metrics, not
 * log messages, so AWS_LAMBDA_LOG_LEVEL does not drop them. */
void log_raw_line(const char *line);

#endif
