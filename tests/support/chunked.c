#include "chunked.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int chunked_fill(struct json_src *src, size_t need, struct error *err)
{
    (void)err;
    struct chunked *c = src->ctx;
    size_t keep = (size_t)(src->end - src->pos);
    src->base += (uint64_t)(src->pos - src->start);
    memmove(c->window, src->pos, keep);
    src->start = src->pos = c->window;
    src->end = c->window + keep;
    while (c->given < c->len && keep < need) {
        size_t take = c->len - c->given < c->chunk ? c->len - c->given : c->chunk;
        memcpy(c->window + keep, c->data + c->given, take);
        c->given += take;
        keep += take;
        src->end += take;
    }
    return 0;
}

void chunked_init(struct chunked *c, const void *data, size_t len, size_t chunk)
{
    memset(c, 0, sizeof *c);
    c->data = data;
    c->len = len;
    c->chunk = chunk;
    c->window = malloc(chunk + 64); /* a fill never needs more than 12 bytes kept */
    if (!c->window) {
        fprintf(stderr, "%s:%d: chunked_init: out of memory\n", __FILE__, __LINE__);
        abort();
    }
    c->src.start = c->src.pos = c->src.end = c->window;
    c->src.fill = chunked_fill;
    c->src.ctx = c;
}

void chunked_free(struct chunked *c)
{
    free(c->window);
}
