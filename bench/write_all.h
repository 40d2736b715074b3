/* bench/write_all.h: the write loop the benchmark's C tools share (each is a
 * program of its own, built from one file plus this header). */
#ifndef BENCH_WRITE_ALL_H
#define BENCH_WRITE_ALL_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

/* Writes all n bytes, through short writes and EINTR. Returns 0, or -1 with
 * errno set. */
static inline int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t done = write(fd, p, n);
        if (done < 0 && errno == EINTR)
            continue;
        if (done < 0)
            return -1;
        p += done;
        n -= (size_t)done;
    }
    return 0;
}

#endif
