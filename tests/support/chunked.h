/* A json_src over memory that hands out at most `chunk` new bytes per fill, to
 * test that every byte boundary gives the same result. Linked by the SIMD
 * check too, without cmocka: running out of memory prints where and aborts. */
#ifndef BCR_TEST_CHUNKED_H
#define BCR_TEST_CHUNKED_H

#include "json.h"

struct chunked {
    struct json_src src;
    const uint8_t *data; /* borrowed */
    size_t len, given, chunk;
    uint8_t *window; /* owned; freed by chunked_free */
};

void chunked_init(struct chunked *c, const void *data, size_t len, size_t chunk);
void chunked_free(struct chunked *c);

#endif
