/* checksum: bytes per second of each way to vouch for an upload's body on
 * this machine: SHA-256 as the signer computes it today (OpenSSL's
 * EVP_Digest, what sigv4_sha256_hex calls), and CRC-32C on the CPU's instructions
 * and on the portable table (src/crc32c.c). One 8 MiB buffer (an upload
 * part), hashed whole, the best of several rounds of at least 0.2 s each.
 *
 *   make bench-checksum
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "crc32c.h"

#define PART (8u << 20)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile uint32_t sink; /* keeps the work from being optimised away */

static void crc_table(const unsigned char *p, size_t n)
{
    sink ^= crc32c_update_with(CRC32C_TABLE, 0, p, n);
}

static void crc_hw(const unsigned char *p, size_t n)
{
    sink ^= crc32c_update_with(CRC32C_HW, 0, p, n);
}

static void sha256(const unsigned char *p, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len;
    if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1)
        abort();
    sink ^= md[0];
}

/* Bytes per second, the best of five rounds. */
static double rate(void (*fn)(const unsigned char *, size_t), const unsigned char *p)
{
    double best = 0;
    for (int round = 0; round < 5; round++) {
        double t0 = now(), t;
        size_t bytes = 0;
        do {
            fn(p, PART);
            bytes += PART;
        } while ((t = now() - t0) < 0.2);
        if (bytes / t > best)
            best = bytes / t;
    }
    return best;
}

int main(void)
{
    unsigned char *p = malloc(PART);
    if (!p)
        return 1;
    for (size_t i = 0; i < PART; i++)
        p[i] = (unsigned char)(i * 2654435761u >> 24);
    double sha = rate(sha256, p);
    printf("%-26s %8.0f MB/s\n", "SHA-256 (OpenSSL)", sha / 1e6);
    double table = rate(crc_table, p);
    printf("%-26s %8.0f MB/s  %5.1fx SHA-256\n", "CRC-32C (table)", table / 1e6, table / sha);
    if (crc32c_impl() == CRC32C_HW) {
        double hw = rate(crc_hw, p);
        printf("%-26s %8.0f MB/s  %5.1fx SHA-256\n", "CRC-32C (instructions)", hw / 1e6, hw / sha);
    }
    free(p);
    return 0;
}
