#include "split.h"

#include <stdlib.h>
#include <string.h>

static int split_fill(struct json_src *src, size_t need, struct error *err)
{
    (void)err;
    struct split_src *s = src->ctx;
    size_t keep = (size_t)(src->end - src->pos);
    size_t add = 0;
    while (s->given + add < s->len && keep + add < need) {
        size_t piece = s->pattern[s->next++ % s->npattern];
        size_t left = s->len - s->given - add;
        add += piece < left ? piece : left;
    }
    uint8_t *window = malloc(keep + add ? keep + add : 1);
    if (!window)
        abort();
    if (keep)
        memcpy(window, src->pos, keep);
    if (add)
        memcpy(window + keep, s->data + s->given, add);
    s->given += add;
    src->base += (uint64_t)(src->pos - src->start);
    free(s->window);
    s->window = window;
    src->start = src->pos = window;
    src->end = window + keep + add;
    return 0;
}

void split_init(struct split_src *s, const uint8_t *data, size_t len, const size_t *pattern,
                size_t npattern)
{
    memset(s, 0, sizeof *s);
    s->data = data;
    s->len = len;
    s->pattern = pattern;
    s->npattern = npattern;
    s->window = malloc(1);
    if (!s->window)
        abort();
    s->src.start = s->src.pos = s->src.end = s->window;
    s->src.fill = split_fill;
    s->src.ctx = s;
}

void split_free(struct split_src *s)
{
    free(s->window);
    s->window = NULL;
}
