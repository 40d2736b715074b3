#include "mem.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

void *mem_check_at(void *p, const char *expr, const char *file, int line)
{
    if (!p)
        fail_msg("%s:%d: out of memory: %s returned NULL", file, line, expr);
    return p;
}

int mem_check_rc_at(int rc, const char *expr, const char *file, int line)
{
    if (rc < 0)
        fail_msg("%s:%d: out of memory: %s returned %d", file, line, expr, rc);
    return rc;
}

_Noreturn void mem_fail_at(const char *what, const char *file, int line)
{
    fail_msg("%s:%d: %s: %s", file, line, what, strerror(errno));
    abort(); /* fail_msg does not return; cmocka does not declare it so */
}

void mem_buf_append(struct mem_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = mem_check(realloc(b->data, b->cap));
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}
