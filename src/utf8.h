/* UTF-8 validation as RFC 3629 defines it: no overlong forms, no surrogates,
 * nothing above U+10FFFF. */
#ifndef BCR_UTF8_H
#define BCR_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (2-4) of the valid multi-byte sequence at p, or 0 if the bytes at p
 * (at most n of them) do not start one. p[0] must be >= 0x80. */
size_t utf8_valid_prefix(const uint8_t *p, size_t n);

/* The offset of the first character in [p, p + n) that a C string or an S3
 * object name cannot hold, U+0000 or one that is not valid UTF-8 (in text
 * json_decode_string produced: a lone surrogate), or n when there is none. */
size_t utf8_first_unusable(const uint8_t *p, size_t n);

/* Bytes needed for the sequence that starts with lead byte b (1-4), or 0 if b
 * can never start a sequence. */
size_t utf8_sequence_length(uint8_t b);

/* Encodes code point cp (<= 0x10FFFF) into out; returns 1-4. A surrogate
 * gets the 3-byte form UTF-8 would give it (WTF-8), which is not valid UTF-8. */
size_t utf8_from_code_point(uint32_t cp, uint8_t out[4]);

#endif
