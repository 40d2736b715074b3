#include "jsonw.h"

#include <string.h>

#include "utf8.h"

void jsonw_init(struct jsonw *w, char *out, size_t cap)
{
    textw_init(&w->text, out, cap);
}

void jsonw_rawn(struct jsonw *w, const char *text, size_t n)
{
    textw_bytes(&w->text, text, n);
}

void jsonw_raw(struct jsonw *w, const char *text)
{
    jsonw_rawn(w, text, strlen(text));
}

static void put_escape(struct jsonw *w, unsigned byte)
{
    char e[6] = {
        '\\', 'u', '0', '0', textw_hex_lower[(byte >> 4) & 15], textw_hex_lower[byte & 15]};
    jsonw_rawn(w, e, sizeof e);
}

void jsonw_stringn(struct jsonw *w, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    jsonw_rawn(w, "\"", 1);
    while (p < end) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            jsonw_rawn(w, e, 2);
            p++;
        } else if (c == '\n') {
            jsonw_rawn(w, "\\n", 2);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            put_escape(w, c);
            p++;
        } else if (c < 0x80) {
            jsonw_rawn(w, (const char *)p, 1);
            p++;
        } else {
            size_t len = utf8_valid_prefix(p, (size_t)(end - p));
            if (len == 0) {
                put_escape(w, c);
                p++;
            } else {
                jsonw_rawn(w, (const char *)p, len);
                p += len;
            }
        }
    }
    jsonw_rawn(w, "\"", 1);
}

void jsonw_string(struct jsonw *w, const char *s)
{
    jsonw_stringn(w, s, strlen(s));
}

void jsonw_int(struct jsonw *w, long long v)
{
    textw_printf(&w->text, "%lld", v);
}

int jsonw_finish(struct jsonw *w)
{
    return textw_finish(&w->text);
}
