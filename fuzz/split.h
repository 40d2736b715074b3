/* A json_src over memory that hands out the input in pieces whose sizes cycle
 * through a pattern, in a fresh exact-size heap window on every fill (the old
 * one is freed), so AddressSanitizer catches a read past the readable bytes
 * and any pointer kept across a refill. */
#ifndef BCR_FUZZ_SPLIT_H
#define BCR_FUZZ_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

struct split_src {
    struct json_src src;
    const uint8_t *data; /* borrowed */
    size_t len, given;
    const size_t *pattern; /* piece sizes, each >= 1; borrowed */
    size_t npattern, next;
    uint8_t *window; /* owned */
};

void split_init(struct split_src *s, const uint8_t *data, size_t len, const size_t *pattern,
                size_t npattern);
void split_free(struct split_src *s);

#endif
