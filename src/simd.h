/* simd: the few 16-byte vector operations the JSON scanner's fast paths use,
 * so that one body serves x86-64 (SSE2, always there) and arm64 (NEON, always
 * there: AWS Graviton). SIMD16 is defined when either is available; without it
 * (or with -DSIMD_DISABLE, to test the scalar code) callers use scalar loops.
 *
 * Comparisons give a vector of 0x00 / 0xff bytes. Two ways to read one back:
 *  - simd16_bits (nonzero iff any byte is set) and simd16_first (the index of
 *    the first set byte): SSE2's movemask, one bit per byte; on NEON a shift
 *    and narrow to four bits per byte, which is cheaper than a true movemask.
 *  - simd16_mask64: bit i set where byte i of four vectors (64 bytes) is set,
 *    for bit arithmetic across neighbouring bytes. */
#ifndef BCR_SIMD_H
#define BCR_SIMD_H

#include <stdint.h>

#if !defined(SIMD_DISABLE) && defined(__SSE2__)
#include <emmintrin.h>
#define SIMD16 1

typedef __m128i simd16;
typedef unsigned simd16_bits_t;

static inline simd16 simd16_load(const uint8_t *p)
{
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}
static inline void simd16_store(uint8_t *p, simd16 v)
{
    _mm_storeu_si128((__m128i *)(void *)p, v);
}
static inline simd16 simd16_eq(simd16 v, uint8_t c)
{
    return _mm_cmpeq_epi8(v, _mm_set1_epi8((char)c));
}
/* Bytes below c as signed: for c = 0x20, controls and every byte >= 0x80. */
static inline simd16 simd16_lt_signed(simd16 v, int8_t c)
{
    return _mm_cmplt_epi8(v, _mm_set1_epi8(c));
}
static inline simd16 simd16_or(simd16 a, simd16 b)
{
    return _mm_or_si128(a, b);
}
/* Adds c to every byte, wrapping. */
static inline simd16 simd16_add(simd16 v, uint8_t c)
{
    return _mm_add_epi8(v, _mm_set1_epi8((char)c));
}
static inline simd16_bits_t simd16_bits(simd16 v)
{
    return (unsigned)_mm_movemask_epi8(v);
}
/* bits must be nonzero. */
static inline unsigned simd16_first(simd16_bits_t bits)
{
    return (unsigned)__builtin_ctz(bits);
}
static inline uint64_t simd16_mask64(simd16 a, simd16 b, simd16 c, simd16 d)
{
    return (uint64_t)(uint32_t)_mm_movemask_epi8(a) |
           (uint64_t)(uint32_t)_mm_movemask_epi8(b) << 16 |
           (uint64_t)(uint32_t)_mm_movemask_epi8(c) << 32 |
           (uint64_t)(uint32_t)_mm_movemask_epi8(d) << 48;
}

#elif !defined(SIMD_DISABLE) && defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define SIMD16 1

typedef uint8x16_t simd16;
typedef uint64_t simd16_bits_t;

static inline simd16 simd16_load(const uint8_t *p)
{
    return vld1q_u8(p);
}
static inline void simd16_store(uint8_t *p, simd16 v)
{
    vst1q_u8(p, v);
}
static inline simd16 simd16_eq(simd16 v, uint8_t c)
{
    return vceqq_u8(v, vdupq_n_u8(c));
}
static inline simd16 simd16_lt_signed(simd16 v, int8_t c)
{
    return vcltq_s8(vreinterpretq_s8_u8(v), vdupq_n_s8(c));
}
static inline simd16 simd16_or(simd16 a, simd16 b)
{
    return vorrq_u8(a, b);
}
static inline simd16 simd16_add(simd16 v, uint8_t c)
{
    return vaddq_u8(v, vdupq_n_u8(c));
}
/* Shifting each 16-bit lane right by 4 and narrowing keeps the high nibble of
 * its even byte and the low nibble of its odd byte: byte i -> bits 4i..4i+3. */
static inline simd16_bits_t simd16_bits(simd16 v)
{
    return vget_lane_u64(vreinterpret_u64_u8(vshrn_n_u16(vreinterpretq_u16_u8(v), 4)), 0);
}
static inline unsigned simd16_first(simd16_bits_t bits)
{
    return (unsigned)__builtin_ctzll(bits) >> 2;
}
/* Each byte keeps its bit weight (1..128 per 8 bytes); three rounds of
 * pairwise adds sum each 8 bytes of the four vectors into one byte, in order. */
static inline uint64_t simd16_mask64(simd16 a, simd16 b, simd16 c, simd16 d)
{
    static const uint8_t weights[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t w = vld1q_u8(weights);
    uint8x16_t ab = vpaddq_u8(vandq_u8(a, w), vandq_u8(b, w));
    uint8x16_t cd = vpaddq_u8(vandq_u8(c, w), vandq_u8(d, w));
    uint8x16_t sum = vpaddq_u8(ab, cd);
    sum = vpaddq_u8(sum, sum);
    return vgetq_lane_u64(vreinterpretq_u64_u8(sum), 0);
}
#endif

#endif
