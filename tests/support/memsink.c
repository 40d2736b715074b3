#include "memsink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not cmocka's fail_msg (mem.h): the fuzz targets and the SIMD check link
 * this file without cmocka. The message names the place; abort fails the
 * binary, and scripts/run-tests.sh names the test that was running. */
static _Noreturn void out_of_memory(int line)
{
    fprintf(stderr, "%s:%d: memsink: out of memory\n", __FILE__, line);
    abort();
}

static int memsink_flush(struct sink *s, struct error *err)
{
    (void)err;
    struct memsink *m = s->ctx;
    if (m->len + s->len + 1 > m->cap) {
        size_t cap = m->cap * 2 > m->len + s->len + 1 ? m->cap * 2 : m->len + s->len + 1;
        char *grown = realloc(m->data, cap);
        if (!grown)
            out_of_memory(__LINE__);
        m->data = grown;
        m->cap = cap;
    }
    memcpy(m->data + m->len, s->buf, s->len);
    m->len += s->len;
    m->data[m->len] = '\0';
    s->len = 0;
    return 0;
}

void memsink_init(struct memsink *m)
{
    memset(m, 0, sizeof *m);
    m->sink.buf = m->small;
    m->sink.cap = sizeof m->small;
    m->sink.flush = memsink_flush;
    m->sink.ctx = m;
    m->data = calloc(1, 1);
    if (!m->data)
        out_of_memory(__LINE__);
    m->cap = 1;
}

const char *memsink_text(struct memsink *m)
{
    sink_flush(&m->sink, NULL);
    return m->data;
}

void memsink_free(struct memsink *m)
{
    free(m->data);
    m->data = NULL;
}
