#include "crc32c.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

/* The reflected Castagnoli polynomial. */
#define POLY 0x82F63B78u

/* ---------------------------------------------------------------- the table
 * Slicing-by-8: table[k][b] is the CRC of byte b followed by k zero bytes, so
 * eight bytes cost eight lookups and no dependency between them. */

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_build(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++)
            c = c & 1 ? c >> 1 ^ POLY : c >> 1;
        table[0][b] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int b = 0; b < 256; b++)
            table[k][b] = table[k - 1][b] >> 8 ^ table[0][table[k - 1][b] & 0xff];
}

static uint32_t load32le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* On the inverted CRC, as the instructions are. */
static uint32_t table_update(uint32_t c, const unsigned char *p, size_t n)
{
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t lo = load32le(p) ^ c, hi = load32le(p + 4);
        c = table[7][lo & 0xff] ^ table[6][lo >> 8 & 0xff] ^ table[5][lo >> 16 & 0xff] ^
            table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][hi >> 8 & 0xff] ^
            table[1][hi >> 16 & 0xff] ^ table[0][hi >> 24];
    }
    while (n--)
        c = table[0][(c ^ *p++) & 0xff] ^ c >> 8;
    return c;
}

/* ---------------------------------------------------------------- the CPU's
 * One instruction per eight bytes (three cycles' latency each: about
 * 2.7 bytes a cycle, far beyond the network; see docs/benchmarks.md). The
 * function is compiled for the instructions whatever the build's target, and
 * only called once the CPU has said it has them. */

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>
#define HAVE_HW 1

static bool hw_present(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2);
}

__attribute__((target("sse4.2"))) static uint32_t hw_update(uint32_t c, const unsigned char *p,
                                                            size_t n)
{
    uint64_t c64 = c;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = _mm_crc32_u64(c64, v);
    }
    c = (uint32_t)c64;
    while (n--)
        c = _mm_crc32_u8(c, *p++);
    return c;
}

#elif defined(__aarch64__)
#include <arm_acle.h>
#include <sys/auxv.h>
#define HAVE_HW 1
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7) /* <asm/hwcap.h> */
#endif

static bool hw_present(void)
{
    return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
}

__attribute__((target("+crc"))) static uint32_t hw_update(uint32_t c, const unsigned char *p,
                                                          size_t n)
{
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __crc32cd(c, v);
    }
    while (n--)
        c = __crc32cb(c, *p++);
    return c;
}
#endif

/* ---------------------------------------------------------------- choice */

static enum crc32c_impl chosen;
static pthread_once_t choice_once = PTHREAD_ONCE_INIT;

static void choose(void)
{
#ifdef HAVE_HW
    if (hw_present()) {
        chosen = CRC32C_HW;
        return;
    }
#endif
    chosen = CRC32C_TABLE;
}

enum crc32c_impl crc32c_impl(void)
{
    pthread_once(&choice_once, choose);
    return chosen;
}

uint32_t crc32c_update_with(enum crc32c_impl impl, uint32_t crc, const void *p, size_t n)
{
    if (n == 0)
        return crc;
#ifdef HAVE_HW
    if (impl == CRC32C_HW) {
        assert(crc32c_impl() == CRC32C_HW);
        return ~hw_update(~crc, p, n);
    }
#endif
    assert(impl == CRC32C_TABLE);
    pthread_once(&table_once, table_build);
    return ~table_update(~crc, p, n);
}

uint32_t crc32c_update(uint32_t crc, const void *p, size_t n)
{
    return crc32c_update_with(crc32c_impl(), crc, p, n);
}

void crc32c_base64(uint32_t crc, char out[CRC32C_BASE64_SIZE])
{
    const unsigned char be[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
                                 (unsigned char)(crc >> 8), (unsigned char)crc};
    /* OpenSSL's encoder (linked for the signer already): 8 characters and a NUL. */
    EVP_EncodeBlock((unsigned char *)out, be, sizeof be);
}
