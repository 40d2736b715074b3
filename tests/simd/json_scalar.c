/* src/json.c with its SIMD fast paths compiled out and its entry points
 * renamed (json_scalar.h), linked beside the ordinary build of it. */
#ifndef SIMD_DISABLE
#define SIMD_DISABLE 1
#endif
#define json_src_memory scalar_json_src_memory
#define json_peek scalar_json_peek
#define json_peek_line scalar_json_peek_line
#define json_expect scalar_json_expect
#define json_copy_value scalar_json_copy_value
#define json_decode_string scalar_json_decode_string
#define json_copy_document scalar_json_copy_document
#define json_copy_decoded scalar_json_copy_decoded
#define json_src_offset scalar_json_src_offset

#include "json_scalar.h"

#include "../../src/json.c"
