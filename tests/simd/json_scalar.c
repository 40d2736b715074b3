/* src/json.c and src/json_decode.c with their SIMD fast paths compiled out
 * and their external names renamed (json_scalar.h; json_scan.h's functions
 * too), linked beside the ordinary build of them. */
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
#define json_skip_value scalar_json_skip_value
#define json_object_open scalar_json_object_open
#define json_object_next scalar_json_object_next
#define json_object_find scalar_json_object_find
#define json_check_document scalar_json_check_document
#define json_src_offset scalar_json_src_offset
#define json_scan_refill scalar_json_scan_refill
#define json_scan_fail scalar_json_scan_fail
#define json_scan_unexpected scalar_json_scan_unexpected
#define json_scan_cut scalar_json_scan_cut
#define json_scan_peek_slow scalar_json_scan_peek_slow
#define json_scan_utf8 scalar_json_scan_utf8

#include "json_scalar.h"

#include "../../src/json.c"
#include "../../src/json_decode.c"
