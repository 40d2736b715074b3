#include "sink.h"

int sink_write_slow(struct sink *s, const void *p, size_t n, struct error *err)
{
    const uint8_t *bytes = p;
    while (n > 0) {
        if (s->len == s->cap && s->flush(s, err) != 0)
            return -1;
        size_t room = s->cap - s->len;
        size_t take = n < room ? n : room;
        memcpy(s->buf + s->len, bytes, take);
        s->len += take;
        s->total += take;
        bytes += take;
        n -= take;
    }
    return 0;
}

int sink_flush(struct sink *s, struct error *err)
{
    return s->len ? s->flush(s, err) : 0;
}
