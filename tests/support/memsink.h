/* memsink: a sink that collects everything written into a growing heap
 * buffer, through a small odd-sized buffer so that it flushes often. For the
 * unit tests and the fuzz targets. Running out of memory prints where and aborts
 * (no cmocka here: the fuzz targets link this file too). */
#ifndef BCR_TEST_MEMSINK_H
#define BCR_TEST_MEMSINK_H

#include <stddef.h>
#include <stdint.h>

#include "sink.h"

struct memsink {
    struct sink sink;  /* write here; its ctx is the memsink */
    uint8_t small[61]; /* odd size on purpose */
    char *data;        /* owned, NUL-terminated */
    size_t len;
    size_t cap; /* bytes allocated at data: grown by doubling, so that a
                 * flush every 61 bytes costs no copy of all before it (a
                 * sanitizer's realloc always copies) */
};

void memsink_init(struct memsink *m);
/* Flushes and returns the text collected so far (owned by m). */
const char *memsink_text(struct memsink *m);
void memsink_free(struct memsink *m);

#endif
