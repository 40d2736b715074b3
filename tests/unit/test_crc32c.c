/* CRC-32C: RFC 3720's vectors, pieces of any size giving the one-shot value,
 * the CPU's instructions and the portable table agreeing on every length and
 * alignment, and the base64 text S3 wants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "crc32c.h"

/* Deterministic bytes (xorshift64*), so a failure is reproducible. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}
static void fill(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(rng() >> 56);
}

/* Every implementation this machine has, the chosen one last. */
static size_t impls(enum crc32c_impl out[2])
{
    size_t n = 0;
    out[n++] = CRC32C_TABLE;
    if (crc32c_impl() == CRC32C_HW)
        out[n++] = CRC32C_HW;
    return n;
}

static void test_rfc3720_vectors(void **state)
{
    (void)state;
    unsigned char zeros[32] = {0}, ones[32], inc[32], dec[32];
    memset(ones, 0xff, sizeof ones);
    for (int i = 0; i < 32; i++) {
        inc[i] = (unsigned char)i;
        dec[i] = (unsigned char)(31 - i);
    }
    enum crc32c_impl which[2];
    size_t n = impls(which);
    for (size_t i = 0; i < n; i++) {
        enum crc32c_impl m = which[i];
        assert_int_equal(crc32c_update_with(m, 0, zeros, 32), 0x8A9136AA);
        assert_int_equal(crc32c_update_with(m, 0, ones, 32), 0x62A8AB43);
        assert_int_equal(crc32c_update_with(m, 0, inc, 32), 0x46DD794E);
        assert_int_equal(crc32c_update_with(m, 0, dec, 32), 0x113FDB5C);
        assert_int_equal(crc32c_update_with(m, 0, "123456789", 9), 0xE3069283);
        assert_int_equal(crc32c_update_with(m, 0, NULL, 0), 0);
        assert_int_equal(crc32c_update_with(m, 0x12345678, NULL, 0), 0x12345678);
    }
    assert_int_equal(crc32c_update(0, "123456789", 9), 0xE3069283);
}

/* On x86-64 and arm64 (every machine Lambda has) the instructions are used. */
static void test_hardware_chosen_where_present(void **state)
{
    (void)state;
#if defined(__x86_64__) || defined(__aarch64__)
    assert_int_equal(crc32c_impl(), CRC32C_HW);
#else
    assert_int_equal(crc32c_impl(), CRC32C_TABLE);
#endif
}

static void test_pieces_equal_one_shot(void **state)
{
    (void)state;
    static unsigned char data[70000];
    fill(data, sizeof data);
    enum crc32c_impl which[2];
    size_t nimpl = impls(which);
    for (int round = 0; round < 200; round++) {
        size_t len = (size_t)(rng() % sizeof data);
        uint32_t whole = crc32c_update(0, data, len);
        for (size_t i = 0; i < nimpl; i++) {
            uint32_t c = 0;
            size_t at = 0;
            while (at < len) {
                /* Mostly small pieces, sometimes large ones, sometimes empty. */
                size_t piece = (size_t)(rng() % (rng() % 4 == 0 ? 9000 : 20));
                if (piece > len - at)
                    piece = len - at;
                c = crc32c_update_with(which[i], c, data + at, piece);
                at += piece;
            }
            assert_int_equal(c, whole);
        }
    }
}

static void test_paths_agree(void **state)
{
    (void)state;
    static unsigned char data[4096 + 16];
    enum crc32c_impl which[2];
    size_t nimpl = impls(which);
    if (nimpl < 2)
        skip();
    for (size_t len = 0; len <= 300; len++)
        for (size_t align = 0; align < 16; align++) {
            fill(data + align, len);
            assert_int_equal(crc32c_update_with(CRC32C_HW, 0, data + align, len),
                             crc32c_update_with(CRC32C_TABLE, 0, data + align, len));
        }
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(rng() % 4096), align = (size_t)(rng() % 16);
        uint32_t seed = (uint32_t)rng();
        fill(data + align, len);
        assert_int_equal(crc32c_update_with(CRC32C_HW, seed, data + align, len),
                         crc32c_update_with(CRC32C_TABLE, seed, data + align, len));
    }
}

static void test_base64(void **state)
{
    (void)state;
    char text[CRC32C_BASE64_SIZE];
    /* 0xE3069283 is the bytes e3 06 92 83. */
    crc32c_base64(0xE3069283, text);
    assert_string_equal(text, "4waSgw==");
    crc32c_base64(0, text);
    assert_string_equal(text, "AAAAAA==");
    crc32c_base64(0xFFFFFFFF, text);
    assert_string_equal(text, "/////w==");
    /* The CRC-32C of "hello world", as the AWS SDKs send it. */
    crc32c_base64(crc32c_update(0, "hello world", 11), text);
    assert_string_equal(text, "yZRlqg==");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3720_vectors),
        cmocka_unit_test(test_hardware_chosen_where_present),
        cmocka_unit_test(test_pieces_equal_one_shot),
        cmocka_unit_test(test_paths_agree),
        cmocka_unit_test(test_base64),
    };
    return cmocka_run_group_tests_name("crc32c", tests, NULL, NULL);
}
