#include "textw.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

const char textw_hex_lower[16] = "0123456789abcdef";
const char textw_hex_upper[16] = "0123456789ABCDEF";

void textw_init(struct textw *w, char *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->len = 0;
}

void textw_bytes(struct textw *w, const void *p, size_t n)
{
    if (w->len < w->cap) {
        size_t room = w->cap - w->len;
        memcpy(w->buf + w->len, p, n < room ? n : room);
    }
    w->len = n > SIZE_MAX - w->len ? SIZE_MAX : w->len + n;
}

void textw_str(struct textw *w, const char *s)
{
    textw_bytes(w, s, strlen(s));
}

void textw_char(struct textw *w, char c)
{
    textw_bytes(w, &c, 1);
}

void textw_printf(struct textw *w, const char *fmt, ...)
{
    size_t room = w->len < w->cap ? w->cap - w->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? w->buf + w->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        w->len = SIZE_MAX; /* an encoding error: nothing sensible fits */
        return;
    }
    w->len = (size_t)n > SIZE_MAX - w->len ? SIZE_MAX : w->len + (size_t)n;
}

int textw_finish(struct textw *w)
{
    if (w->len >= w->cap || w->len > INT_MAX) {
        if (w->cap > 0)
            w->buf[0] = '\0';
        return -1;
    }
    w->buf[w->len] = '\0';
    return (int)w->len;
}
