#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_wall_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

int64_t util_monotonic_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

int util_write_all(int fd, const void *p, size_t n, size_t *written, write_check_fn *check,
                   void *ctx)
{
    const char *bytes = p;
    size_t done = 0;
    int rc = 0;
    while (done < n) {
        if (check && (rc = check(ctx)) != 0)
            break;
        ssize_t k = write(fd, bytes + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = errno;
            break;
        }
        done += (size_t)k;
    }
    if (written)
        *written = done;
    return rc;
}
