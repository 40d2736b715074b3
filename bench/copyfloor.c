/* copyfloor: the cost of merely moving the bytes, for the benchmark.
 *
 *   copyfloor [--no-fsync] OUT_PATH OUT_SIZE IN...
 *
 * Reads every input file to its end with read() into a 256 KiB buffer (as the
 * directory store does) and writes OUT_SIZE bytes to OUT_PATH, interleaved
 * with the reads, in 256 KiB write() calls. Like the directory store it writes
 * to a temporary file beside OUT_PATH, fsyncs it (unless --no-fsync) and
 * renames it into place. No parsing at all: a lower bound for the step on the
 * same inputs and output size. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "write_all.h"

enum { CHUNK = 256 * 1024 };

static void die(const char *what)
{
    fprintf(stderr, "copyfloor: %s: %s\n", what, strerror(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    int arg = 1, do_fsync = 1;
    if (arg < argc && strcmp(argv[arg], "--no-fsync") == 0) {
        do_fsync = 0;
        arg++;
    }
    if (argc - arg < 3) {
        fprintf(stderr, "usage: copyfloor [--no-fsync] OUT_PATH OUT_SIZE IN...\n");
        return 2;
    }
    const char *out_path = argv[arg];
    uint64_t out_size = strtoull(argv[arg + 1], NULL, 10);
    arg += 2;

    /* Total input size, so the writes can be spread over the reads. */
    uint64_t in_size = 0;
    for (int i = arg; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY);
        off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
        if (end < 0)
            die(argv[i]);
        in_size += (uint64_t)end;
        close(fd);
    }

    size_t len = strlen(out_path);
    char *tmp = malloc(len + 16);
    if (!tmp)
        die("malloc");
    snprintf(tmp, len + 16, "%s.tmpXXXXXX", out_path);
    int out = mkstemp(tmp);
    if (out < 0)
        die(tmp);
    uint8_t *buf = malloc(CHUNK);
    if (!buf)
        die("malloc");
    memset(buf, 'x', CHUNK);

    uint64_t read_total = 0, written = 0;
    for (int i = arg; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY);
        if (fd < 0)
            die(argv[i]);
        for (;;) {
            ssize_t n = read(fd, buf, CHUNK);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                die(argv[i]);
            if (n == 0)
                break;
            read_total += (uint64_t)n;
            /* Keep the output in step with the input, a chunk at a time. */
            uint64_t due = in_size ? (uint64_t)((double)out_size * read_total / in_size) : 0;
            while (due - written >= CHUNK || (due > written && read_total == in_size)) {
                size_t take = due - written < CHUNK ? (size_t)(due - written) : CHUNK;
                if (write_all(out, buf, take) != 0)
                    die("write");
                written += take;
            }
        }
        close(fd);
    }
    while (written < out_size) {
        size_t take = out_size - written < CHUNK ? (size_t)(out_size - written) : CHUNK;
        if (write_all(out, buf, take) != 0)
            die("write");
        written += take;
    }
    if (do_fsync && fsync(out) != 0)
        die("fsync");
    if (close(out) != 0)
        die("close");
    if (rename(tmp, out_path) != 0)
        die("rename");
    printf("%llu %llu\n", (unsigned long long)read_total, (unsigned long long)written);
    free(buf);
    free(tmp);
    return 0;
}
