/* The JSON scanner built a second time without SIMD (json_scalar.c), under
 * other names, so that one binary can compare the fast paths against it. */
#ifndef BCR_TEST_JSON_SCALAR_H
#define BCR_TEST_JSON_SCALAR_H

#include "json.h"

void scalar_json_src_memory(struct json_src *src, const void *data, size_t n);
int scalar_json_peek(struct json_src *src, struct error *err);
int scalar_json_peek_line(struct json_src *src, bool *newline, struct error *err);
int scalar_json_expect(struct json_src *src, char c, const char *type, struct error *err);
int scalar_json_copy_value(struct json_src *src, struct sink *out, const char *type,
                           struct error *err);
int scalar_json_decode_string(struct json_src *src, struct buf *dst, bool *overflowed,
                              const char *type, struct error *err);
int scalar_json_copy_document(const void *data, size_t n, struct sink *out, const char *type,
                              struct error *err);
int scalar_json_copy_decoded(const void *data, size_t n, struct sink *out, const char *type,
                             struct error *err);

#endif
