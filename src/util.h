/* util: the small helpers every layer shares, each written once: the
 * environment as the AWS tools read it, clocks in milliseconds, and a whole
 * buffer written to a descriptor. */
#ifndef BCR_UTIL_H
#define BCR_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch: for deadlines the Lambda Runtime API
 * gives in wall-clock time, and for timestamps in logs and metrics. */
int64_t util_wall_ms(void);

/* Milliseconds on a clock that never jumps: for durations and rates. */
int64_t util_monotonic_ms(void);

/* Asked by util_write_all before each write(2): 0 to go on; any other value ends
 * util_write_all, which returns it (it must not be an errno, so: negative). */
typedef int write_check_fn(void *ctx);

/* Writes the n bytes at p (borrowed) to fd, calling write(2) again after a
 * short write or EINTR, and asking check (if not NULL) with ctx before every
 * call. Returns 0 when all went out, check's value, or the errno of the
 * write(2) that failed (EAGAIN too: waiting is the caller's choice);
 * *written (if not NULL) is then how many bytes went out. */
int util_write_all(int fd, const void *p, size_t n, size_t *written, write_check_fn *check,
                   void *ctx);

#endif
