/* The bounded text builder: it writes what fits, measures what does not, and
 * reports an overflow at the end instead of truncating silently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "textw.h"

static void test_fits(void **state)
{
    (void)state;
    char buf[32];
    struct textw w;
    textw_init(&w, buf, sizeof buf);
    textw_str(&w, "key=");
    textw_printf(&w, "%d/%s", 42, "x");
    textw_char(&w, '!');
    textw_bytes(&w, "ab\0c", 4);
    assert_int_equal(textw_finish(&w), 13);
    assert_memory_equal(buf, "key=42/x!ab\0c", 14);
}

static void test_measures_without_a_buffer(void **state)
{
    (void)state;
    struct textw w;
    textw_init(&w, NULL, 0);
    textw_str(&w, "0123456789");
    textw_printf(&w, "%05d", 7);
    assert_int_equal(w.len, 15);
    assert_true(textw_overflowed(&w));
    assert_int_equal(textw_finish(&w), -1);
}

static void test_overflow_is_reported_not_truncated(void **state)
{
    (void)state;
    char buf[8];
    struct textw w;
    textw_init(&w, buf, sizeof buf);
    textw_str(&w, "1234567");
    assert_false(textw_overflowed(&w)); /* 7 bytes and the NUL fit */
    textw_printf(&w, "%s", "89");
    assert_true(textw_overflowed(&w));
    assert_int_equal(w.len, 9);
    assert_int_equal(textw_finish(&w), -1);
    assert_string_equal(buf, ""); /* never a truncated text */
}

static void test_hex_digits(void **state)
{
    (void)state;
    assert_memory_equal(textw_hex_lower, "0123456789abcdef", 16);
    assert_memory_equal(textw_hex_upper, "0123456789ABCDEF", 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits),
        cmocka_unit_test(test_measures_without_a_buffer),
        cmocka_unit_test(test_overflow_is_reported_not_truncated),
        cmocka_unit_test(test_hex_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
