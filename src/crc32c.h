/* crc32c: CRC-32C (Castagnoli, RFC 3720), the checksum S3 verifies for a body
 * sent with x-amz-checksum-crc32c, at a small fraction of SHA-256's cost per
 * byte. It runs on the CPU's CRC32C instructions where it has them (SSE4.2 on
 * x86-64, the ARMv8 CRC extension on arm64; checked once, at the first call,
 * so one static binary runs anywhere), else on a portable table
 * (slicing-by-8). Every path gives the same value; all are thread-safe.
 *
 * Pointers are borrowed for the call; nothing is kept. */
#ifndef BCR_CRC32C_H
#define BCR_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of the n bytes at p (p may be NULL when n is 0) appended to
 * bytes whose CRC-32C is crc: start with 0, feed the bytes in pieces of any
 * size, and the result is the CRC of them all, as if given at once (the
 * pre- and post-inversion are done inside, as zlib's crc32 does). */
uint32_t crc32c_update(uint32_t crc, const void *p, size_t n);

/* Room for crc32c_base64's text and its NUL. */
#define CRC32C_BASE64_SIZE 9

/* crc as S3 writes a CRC-32C (x-amz-checksum-crc32c, <ChecksumCRC32C>): the
 * base64 of its four bytes, most significant first; eight characters ending
 * in "==", NUL-terminated. */
void crc32c_base64(uint32_t crc, char out[CRC32C_BASE64_SIZE]);

/* The implementations, named for the tests and the bench. */
enum crc32c_impl {
    CRC32C_TABLE, /* portable: slicing-by-8 over 8 KiB of tables */
    CRC32C_HW,    /* the CPU's CRC32C instructions */
};

/* The implementation crc32c_update uses on this machine. */
enum crc32c_impl crc32c_impl(void);

/* crc32c_update on the implementation given; CRC32C_HW only where
 * crc32c_impl() returns it (an assertion otherwise). */
uint32_t crc32c_update_with(enum crc32c_impl impl, uint32_t crc, const void *p, size_t n);

#endif
