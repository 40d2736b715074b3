#include "util.h"

#include <stdlib.h>
#include <time.h>

const char *env_get(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wall_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

int64_t monotonic_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}
