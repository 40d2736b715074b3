/* The settings table: every row complete, --help written from it (every
 * flag and variable, its help and default), the tests' scrubbing of the
 * environment clearing every variable it names, and integer variables read
 * within their bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "proc.h"
#include "s3/config.h"
#include "s3env.h"
#include "settings.h"

/* text with every run of spaces and newlines made one space, in place. */
static char *squeeze(char *text)
{
    char *w = text;
    for (const char *r = text; *r; r++)
        if (!isspace((unsigned char)*r))
            *w++ = *r;
        else if (w > text && w[-1] != ' ')
            *w++ = ' ';
    *w = '\0';
    return text;
}

/* What write writes, in a heap string (the caller frees it). */
static char *written_by(void (*write)(FILE *))
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    write(f);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void test_every_row_is_complete(void **state)
{
    (void)state;
    for (int i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings_table[i];
        assert_non_null(s->name);
        assert_non_null(s->reader);
        assert_non_null(s->help);
        if (s->kind == SETTING_FLAG)
            assert_int_equal(strncmp(s->name, "--", 2), 0);
        else
            assert_int_equal(strspn(s->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "abcdefghijklmnopqrstuvwxyz_0123456789"),
                             strlen(s->name));
        if (s->type != SETTING_SWITCH)
            assert_non_null(s->value);
        if (s->type == SETTING_INTEGER) {
            assert_true(s->min <= s->max);
            char *end;
            long long def = strtoll(s->fallback, &end, 10);
            assert_true(*end == '\0' && def >= s->min && def <= s->max);
        }
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(s->name, settings_table[j].name);
            if (s->alias && settings_table[j].alias)
                assert_string_not_equal(s->alias, settings_table[j].alias);
        }
    }
    /* S3's own limit, which s3/config.h names too. */
    assert_int_equal(settings_table[SETTING_BCR_S3_PART_SIZE].max, (long long)S3_MAX_PART_SIZE);
}

/* --help is cli_write_help's text, and that holds every row: its name, its
 * alias, its help and its default. */
static void test_help_comes_from_the_table(void **state)
{
    (void)state;
    char *help[] = {(char *)proc_bin(), "--help", NULL};
    struct proc_result res;
    proc_run(help, NULL, NULL, 10, &res);
    assert_int_equal(res.status, 0);

    char *text = written_by(cli_write_help);
    assert_string_equal(res.out, text);

    squeeze(text);
    for (int i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings_table[i];
        char want[1024];
        snprintf(want, sizeof want, "%s", s->help);
        const char *checks[] = {s->name, s->alias, squeeze(want), s->fallback};
        for (size_t k = 0; k < sizeof checks / sizeof *checks; k++)
            if (checks[k] && !strstr(text, checks[k]))
                fail_msg("--help lacks \"%s\" (setting %s)", checks[k], s->name);
    }
    free(text);
    proc_result_free(&res);
}

/* Every flag of the table is an option cli_parse takes. */
static void test_every_flag_parses(void **state)
{
    (void)state;
    for (int i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings_table[i];
        if (s->kind != SETTING_FLAG || i == SETTING_OPT_HELP || i == SETTING_OPT_VERSION)
            continue;
        const char *value = i == SETTING_OPT_TRANSFORMATION ? "COMPACT"
                            : i == SETTING_OPT_OUTPUT       ? "-"
                            : i == SETTING_OPT_MANIFEST     ? "s3://b/k"
                                                            : "x";
        char *argv[] = {(char *)"bcr", (char *)s->name,
                        s->type == SETTING_SWITCH ? NULL : (char *)value, NULL};
        struct cli_options opts;
        if (cli_parse(s->type == SETTING_SWITCH ? 2 : 3, argv, &opts) != CLI_OK)
            fail_msg("cli_parse refuses %s", s->name);
    }
}

/* s3env_isolate_environment clears every variable of the table, aliases too. */
static void test_scrub_clears_every_variable(void **state)
{
    (void)state;
    for (int i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings_table[i];
        if (s->kind != SETTING_ENV)
            continue;
        setenv(s->name, "set", 1);
        if (s->alias)
            setenv(s->alias, "set", 1);
    }
    s3env_isolate_environment();
    for (int i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings_table[i];
        if (s->kind != SETTING_ENV)
            continue;
        if (getenv(s->name) || (s->alias && getenv(s->alias)))
            fail_msg("%s is still set after s3env_isolate_environment", s->name);
        assert_null(settings_env((enum setting_id)i));
    }
}

static void test_env_integer(void **state)
{
    (void)state;
    struct error err = {0};
    long long n = 0;
    unsetenv("AWS_MAX_ATTEMPTS");
    assert_int_equal(settings_env_integer(SETTING_AWS_MAX_ATTEMPTS, &n, &err), 0);
    assert_int_equal(n, 3);
    setenv("AWS_MAX_ATTEMPTS", "", 1); /* empty counts as unset */
    assert_int_equal(settings_env_integer(SETTING_AWS_MAX_ATTEMPTS, &n, &err), 0);
    assert_int_equal(n, 3);
    setenv("AWS_MAX_ATTEMPTS", "100", 1);
    assert_int_equal(settings_env_integer(SETTING_AWS_MAX_ATTEMPTS, &n, &err), 0);
    assert_int_equal(n, 100);
    static const char *const bad[] = {"0", "101", "3x", "-", "3 "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("AWS_MAX_ATTEMPTS", bad[i], 1);
        assert_int_equal(settings_env_integer(SETTING_AWS_MAX_ATTEMPTS, &n, &err), -1);
        assert_string_equal(err.type, ERR_CONFIG);
        char want[64];
        snprintf(want, sizeof want, "AWS_MAX_ATTEMPTS=%s is not an integer from 1 to 100", bad[i]);
        assert_string_equal(err.message, want);
    }
    unsetenv("AWS_MAX_ATTEMPTS");
}

/* The Markdown table has a row per setting, and escapes '|' in cells. */
static void test_markdown(void **state)
{
    (void)state;
    char *text = written_by(settings_write_markdown);
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, SETTING_COUNT + 2);
    assert_non_null(strstr(text, "one of NONE\\|COMPACT\\|FLATTEN"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_row_is_complete),
        cmocka_unit_test(test_help_comes_from_the_table),
        cmocka_unit_test(test_every_flag_parses),
        cmocka_unit_test(test_scrub_clears_every_variable),
        cmocka_unit_test(test_env_integer),
        cmocka_unit_test(test_markdown),
    };
    return cmocka_run_group_tests_name("settings", tests, NULL, NULL);
}
