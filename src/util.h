/* util: the small helpers every layer shares, each written once: the
 * environment as the AWS tools read it, and clocks in milliseconds. */
#ifndef BCR_UTIL_H
#define BCR_UTIL_H

#include <stdint.h>

/* The variable's value, or NULL when it is unset or empty: the AWS SDKs and
 * CLI treat an empty setting as no setting. Borrowed from the environment. */
const char *env_get(const char *name);

/* Milliseconds since the Unix epoch: for deadlines the Lambda Runtime API
 * gives in wall-clock time, and for timestamps in logs and metrics. */
int64_t wall_ms(void);

/* Milliseconds on a clock that never jumps: for durations and rates. */
int64_t monotonic_ms(void);

#endif
