/* mem: memory for the test code, where running out fails the test, named.
 *
 * mem_check(p) evaluates p (any allocator's result: malloc, calloc, realloc,
 * strdup, json_dumps, ...) once and returns it; when it is NULL the running
 * cmocka test fails (fail_msg) naming the file, line and expression, instead
 * of dereferencing NULL later. Outside a test (a group setup) cmocka ends the
 * process with the same message. mem_check_rc(rc) does the same for a call
 * that reports failure with a negative int (asprintf); mem_fail(what) fails
 * the same way, with errno's text, for a system call that must not fail
 * (pipe, fork, mkdtemp). Ownership: mem_check only looks at the pointer.
 *
 * Needs cmocka at link time: memsink and chunked, which the fuzz targets and
 * the SIMD check also link, check their own allocations without it. */
#ifndef BCR_TEST_MEM_H
#define BCR_TEST_MEM_H

#include <stddef.h>

#define mem_check(p) mem_check_at((p), #p, __FILE__, __LINE__)
#define mem_check_rc(rc) mem_check_rc_at((rc), #rc, __FILE__, __LINE__)
#define mem_fail(what) mem_fail_at((what), __FILE__, __LINE__)

void *mem_check_at(void *p, const char *expr, const char *file, int line);
int mem_check_rc_at(int rc, const char *expr, const char *file, int line);
_Noreturn void mem_fail_at(const char *what, const char *file, int line);

/* A growing NUL-terminated byte buffer: zero-initialise, append, then take
 * data (owned by the holder of the struct, freed with free()). After the
 * first append data is never NULL. */
struct mem_buf {
    char *data;
    size_t len, cap;
};
void mem_buf_append(struct mem_buf *b, const void *p, size_t n);

#endif
