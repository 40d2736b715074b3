/* What the Lambda packages are made of, three ways that must agree: the
 * CycloneDX SBOM beside each zip (and inside it), the list embedded in the
 * program's ELF section .bcr_deps (read here from the file, without running
 * it), and `bootstrap --version`, which asks each library at run time. Every
 * package beside the built program is checked: function.zip and, when built,
 * function-arm64.zip (its --version under qemu-user). Also: each SBOM is valid
 * against the CycloneDX schema (and a broken one is not), names every
 * statically linked library as the Debian source it was built from, lists the
 * npm test servers' packages apart, and `make check-deps`' checker fails on a
 * package older than Debian offers, naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "mem.h"
#include "proc.h"
#include "files.h"

struct package {
    char arch[16];     /* x86_64 or arm64 */
    char zip[4200];    /* BIN's directory/function[-arm64].zip */
    char sbom[4200];   /* the same with .cdx.json */
    char dir[4200];    /* unpacked */
    json_t *bom;       /* the SBOM, parsed */
    json_t *section;   /* .bcr_deps, parsed */
    char *version_out; /* bootstrap --version */
};

static struct package packages[2];
static size_t n_packages;
static char *tmp;
static char skip_reason[4300];

/* ---------------------------------------------------------------- reading */

/* The contents of the ELF64 little-endian section `name` of the file at path
 * (caller frees), or NULL. Read from the file, as a scanner would. */
static char *elf_section(const char *path, const char *name, size_t *len)
{
    size_t size = 0;
    unsigned char *elf = (unsigned char *)files_read(path, &size);
    if (!elf || size < sizeof(Elf64_Ehdr) || memcmp(elf, ELFMAG, SELFMAG) != 0 ||
        elf[EI_CLASS] != ELFCLASS64 || elf[EI_DATA] != ELFDATA2LSB) {
        free(elf);
        return NULL;
    }
    Elf64_Ehdr eh;
    memcpy(&eh, elf, sizeof eh);
    char *out = NULL;
    if (eh.e_shoff + (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) <= size &&
        eh.e_shstrndx < eh.e_shnum) {
        Elf64_Shdr names;
        memcpy(&names, elf + eh.e_shoff + eh.e_shstrndx * sizeof(Elf64_Shdr), sizeof names);
        for (unsigned i = 0; i < eh.e_shnum && !out; i++) {
            Elf64_Shdr sh;
            memcpy(&sh, elf + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof sh);
            if (names.sh_offset + sh.sh_name >= size || sh.sh_offset + sh.sh_size > size)
                continue;
            if (strcmp((const char *)elf + names.sh_offset + sh.sh_name, name) == 0) {
                out = mem_check(malloc(sh.sh_size + 1));
                memcpy(out, elf + sh.sh_offset, sh.sh_size);
                out[sh.sh_size] = '\0';
                *len = sh.sh_size;
            }
        }
    }
    free(elf);
    return out;
}

static const char *str(json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

/* A component's property value, or NULL. */
static const char *prop(json_t *component, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(component, "properties"), i, p)
    {
        if (strcmp(str(p, "name"), name) == 0)
            return str(p, "value");
    }
    return NULL;
}

/* Debian's version without epoch, revision and repack suffix ("3.0.17" from
 * "3.0.17-1~deb12u2", "2.36" from "2.36-9+deb12u10"): what the library itself
 * reports. */
static void upstream_of(const char *debian, char *out, size_t cap)
{
    const char *colon = strchr(debian, ':');
    snprintf(out, cap, "%s", colon ? colon + 1 : debian);
    char *dash = strrchr(out, '-');
    if (dash)
        *dash = '\0';
    out[strcspn(out, "+~")] = '\0';
}

/* The SBOM's statically linked components (scope required), borrowed. */
static json_t *linked_components(json_t *bom)
{
    json_t *out = json_array(), *c;
    size_t i;
    json_array_foreach(json_object_get(bom, "components"), i, c)
    {
        if (strcmp(str(c, "scope"), "required") == 0)
            json_array_append(out, c);
    }
    return out;
}

/* `NAME VERSION` from --version's output, or NULL. */
static char *version_line(const char *text, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > n + 1 && strncmp(line, name, n) == 0 && line[n] == ' ') {
            snprintf(out, cap, "%.*s", (int)(len - n - 1), line + n + 1);
            return out;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* ---------------------------------------------------------------- set-up */

static bool load_package(struct package *p, const char *build_dir, const char *suffix,
                         const char *arch)
{
    snprintf(p->arch, sizeof p->arch, "%s", arch);
    snprintf(p->zip, sizeof p->zip, "%s/function%s.zip", build_dir, suffix);
    snprintf(p->sbom, sizeof p->sbom, "%s/function%s.cdx.json", build_dir, suffix);
    snprintf(p->dir, sizeof p->dir, "%s/%s", tmp, arch);
    char *unzip[] = {"/usr/bin/unzip", "-q", p->zip, "-d", p->dir, NULL};
    if (!proc_run_ok(unzip, 60, "test_package"))
        return false;
    p->bom = json_load_file(p->sbom, 0, NULL);
    char bootstrap[4300];
    snprintf(bootstrap, sizeof bootstrap, "%s/bootstrap", p->dir);
    size_t len = 0;
    char *section = elf_section(bootstrap, ".bcr_deps", &len);
    p->section = section ? json_loadb(section, len, 0, NULL) : NULL;
    free(section);

    struct utsname u;
    bool native =
        uname(&u) == 0 && ((strcmp(u.machine, "aarch64") == 0) == (strcmp(arch, "arm64") == 0));
    char *direct[] = {bootstrap, "--version", NULL};
    char *qemu[] = {strcmp(arch, "arm64") == 0 ? "/usr/bin/qemu-aarch64" : "/usr/bin/qemu-x86_64",
                    bootstrap, "--version", NULL};
    struct proc_result res;
    proc_run(native ? direct : qemu, NULL, NULL, 60, &res);
    if (res.status != 0)
        fprintf(stderr, "test_package: %s --version: exit %d: %s\n", bootstrap, res.status,
                res.err);
    p->version_out = res.status == 0 ? res.out : NULL;
    if (res.status == 0)
        res.out = NULL;
    proc_result_free(&res);
    return true;
}

static int group_setup(void **state)
{
    (void)state;
    const char *bin = proc_bin();
    const char *slash = strrchr(bin, '/');
    char build_dir[4096];
    snprintf(build_dir, sizeof build_dir, "%.*s", slash ? (int)(slash - bin) : 1,
             slash ? bin : ".");
    char path[4200];
    snprintf(path, sizeof path, "%s/function.cdx.json", build_dir);
    if (access(path, R_OK) != 0) {
        /* The sanitizer builds package a dynamically linked program, whose
         * libraries are files of their own in the zip: no SBOM is written. */
        snprintf(skip_reason, sizeof skip_reason,
                 "%s/function.zip has no SBOM (a dynamically linked package)", build_dir);
        return 0;
    }
    tmp = files_tmpdir();
    struct utsname u;
    const char *native = uname(&u) == 0 && strcmp(u.machine, "aarch64") == 0 ? "arm64" : "x86_64";
    if (!load_package(&packages[n_packages++], build_dir, "", native))
        return -1;
    snprintf(path, sizeof path, "%s/function-arm64.zip", build_dir);
    if (strcmp(native, "arm64") != 0 && access(path, R_OK) == 0 &&
        !load_package(&packages[n_packages++], build_dir, "-arm64", "arm64"))
        return -1;
    if (n_packages == 1)
        fprintf(stderr, "test_package: %s was not built: the x86-64 package only\n", path);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_packages; i++) {
        json_decref(packages[i].bom);
        json_decref(packages[i].section);
        free(packages[i].version_out);
    }
    if (tmp) {
        files_rmtree(tmp);
        free(tmp);
    }
    return 0;
}

#define REQUIRE_PACKAGES()                                                                         \
    do {                                                                                           \
        if (!n_packages) {                                                                         \
            fprintf(stderr, "test_package: SKIPPING: %s\n", skip_reason);                          \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ---------------------------------------------------------------- tests */

/* --version, the ELF section and the SBOM name the same libraries, and each
 * library's run-time version is the upstream part of the Debian version the
 * SBOM and the section record. The program's version too. */
static void test_version_section_and_sbom_agree(void **state)
{
    (void)state;
    REQUIRE_PACKAGES();
    for (size_t k = 0; k < n_packages; k++) {
        struct package *p = &packages[k];
        assert_non_null(p->bom);
        assert_non_null(p->section);
        assert_non_null(p->version_out);
        json_t *program = json_object_get(json_object_get(p->bom, "metadata"), "component");
        char got[256];
        assert_non_null(version_line(p->version_out, "backend-checks-results", got, sizeof got));
        assert_string_equal(got, str(program, "version"));
        assert_string_equal(got, str(p->section, "version"));
        assert_string_equal(str(p->section, "arch"), p->arch);

        json_t *linked = linked_components(p->bom);
        json_t *listed = json_object_get(p->section, "components");
        assert_true(json_array_size(linked) >= 5);
        assert_int_equal(json_array_size(listed), json_array_size(linked));
        /* One line per library, and the program's. */
        assert_int_equal(count_lines(p->version_out), json_array_size(linked) + 1);
        size_t i;
        json_t *c;
        json_array_foreach(linked, i, c)
        {
            const char *name = str(c, "name");
            json_t *s = json_array_get(listed, i);
            assert_string_equal(str(s, "name"), name);
            assert_string_equal(str(s, "version"), str(c, "version"));
            assert_string_equal(str(s, "purl"), str(c, "purl"));
            char want[256];
            upstream_of(str(c, "version"), want, sizeof want);
            if (!version_line(p->version_out, name, got, sizeof got))
                fail_msg("%s: --version does not name %s:\n%s", p->zip, name, p->version_out);
            if (strcmp(got, want) != 0)
                fail_msg("%s: %s reports %s at run time; the SBOM records %s (%s)", p->zip, name,
                         got, str(c, "version"), want);
        }
        json_decref(linked);
    }
}

/* Every library named in scripts/static-libs, the lean libcurl, glibc and
 * libgcc is there, named by a Debian package URL of its source at the
 * version the SBOM gives, for the package's architecture; the binary package
 * recorded is installed here at the recorded version (the package was linked
 * from it). The npm packages of the lockfile are all there, scope excluded.
 * The copy inside the zip is the one beside it. */
static void test_sbom_names_every_library(void **state)
{
    (void)state;
    REQUIRE_PACKAGES();
    size_t len = 0;
    char *libs = files_read("scripts/static-libs", &len);
    assert_non_null(libs);
    json_t *lock = json_load_file("package-lock.json", 0, NULL);
    assert_non_null(lock);
    for (size_t k = 0; k < n_packages; k++) {
        struct package *p = &packages[k];
        const char *deb_arch = strcmp(p->arch, "arm64") == 0 ? "arm64" : "amd64";
        json_t *linked = linked_components(p->bom);
        char names[1024] = " ";
        size_t i;
        json_t *c;
        json_array_foreach(linked, i, c)
        {
            char purl_head[256], purl_tail[128];
            snprintf(purl_head, sizeof purl_head, "pkg:deb/debian/");
            snprintf(purl_tail, sizeof purl_tail, "@%s?arch=%s&distro=debian-12", str(c, "version"),
                     deb_arch);
            const char *purl = str(c, "purl");
            assert_true(strncmp(purl, purl_head, strlen(purl_head)) == 0);
            if (!strstr(purl, purl_tail))
                fail_msg("%s: %s: purl %s does not end %s", p->sbom, str(c, "name"), purl,
                         purl_tail);
            const char *pkg = prop(c, "bcr:debian:package");
            assert_non_null(pkg);
            char *argv[] = {"/usr/bin/dpkg-query", "-W", "-f=${Version}", (char *)pkg, NULL};
            struct proc_result res;
            proc_run(argv, NULL, NULL, 30, &res);
            assert_int_equal(res.status, 0);
            assert_string_equal(res.out, prop(c, "bcr:debian:package-version"));
            proc_result_free(&res);
            strncat(names, str(c, "name"), sizeof names - strlen(names) - 2);
            strcat(names, " ");
        }
        json_decref(linked);
        const char *required[] = {" curl ", " glibc ", " libgcc ", NULL};
        for (size_t r = 0; required[r]; r++)
            assert_non_null(strstr(names, required[r]));
        for (char *line = libs; line && *line;) {
            char *end = strchr(line, '\n');
            char name[64];
            if (*line != '#' && sscanf(line, "%62s", name) == 1) {
                char spaced[70];
                snprintf(spaced, sizeof spaced, " %s ", name);
                if (!strstr(names, spaced))
                    fail_msg("%s: %s (scripts/static-libs) is not in the SBOM", p->sbom, name);
            }
            line = end ? end + 1 : NULL;
        }

        /* npm: every package of the lockfile, excluded from the package. */
        size_t npm = 0;
        json_array_foreach(json_object_get(p->bom, "components"), i, c)
        {
            if (strncmp(str(c, "purl"), "pkg:npm/", 8) == 0) {
                npm++;
                assert_string_equal(str(c, "scope"), "excluded");
            }
        }
        /* The lockfile's packages, name@version once each (one may be
         * installed at several paths). */
        json_t *distinct = json_object();
        const char *path;
        json_t *entry;
        json_object_foreach(json_object_get(lock, "packages"), path, entry)
        {
            const char *at = strrchr(path, '/') ? strstr(path, "node_modules/") : NULL;
            if (!*path || !at)
                continue;
            const char *name = str(entry, "name");
            if (!name) {
                const char *last = path;
                for (const char *q = strstr(path, "node_modules/"); q;
                     q = strstr(q + 1, "node_modules/"))
                    last = q + strlen("node_modules/");
                name = last;
            }
            char key[512];
            snprintf(key, sizeof key, "%s@%s", name, str(entry, "version"));
            json_object_set_new(distinct, key, json_true());
        }
        assert_true(json_object_size(distinct) > 100);
        assert_int_equal(npm, json_object_size(distinct));
        json_decref(distinct);

        char inner[4300];
        snprintf(inner, sizeof inner, "%s/sbom.cdx.json", p->dir);
        size_t a_len = 0, b_len = 0;
        char *a = files_read(inner, &a_len), *b = files_read(p->sbom, &b_len);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(a_len, b_len);
        assert_memory_equal(a, b, a_len);
        free(a);
        free(b);
    }
    json_decref(lock);
    free(libs);
}

/* Each SBOM is valid CycloneDX by the specification's JSON schema; the same
 * SBOM with a value the schema does not allow is refused, naming it. One run
 * of the validator for all of them (it compiles the schema each time). */
static void test_sbom_valid_against_schema(void **state)
{
    (void)state;
    REQUIRE_PACKAGES();
    char broken[2][4300];
    char *argv[2 + 2 * 2 + 1] = {"/usr/bin/node", "tests/sbom/validate.js"};
    size_t n = 2;
    for (size_t k = 0; k < n_packages; k++) {
        json_t *copy = json_deep_copy(packages[k].bom);
        json_object_set_new(json_array_get(json_object_get(copy, "components"), 0), "scope",
                            json_string("sometimes"));
        snprintf(broken[k], sizeof broken[k], "%s/broken-%.15s.cdx.json", tmp, packages[k].arch);
        assert_int_equal(json_dump_file(copy, broken[k], 0), 0);
        json_decref(copy);
        argv[n++] = packages[k].sbom;
        argv[n++] = broken[k];
    }
    argv[n] = NULL;
    struct proc_result res;
    proc_run(argv, NULL, NULL, 120, &res);
    assert_int_equal(res.status, 1);
    for (size_t k = 0; k < n_packages; k++) {
        char want[4400];
        snprintf(want, sizeof want, "%.4200s: valid CycloneDX 1.5\n", packages[k].sbom);
        if (!strstr(res.out, want))
            fail_msg("%s is not valid CycloneDX:\n%s%s", packages[k].sbom, res.out, res.err);
        snprintf(want, sizeof want, "%.4300s: not valid CycloneDX 1.5", broken[k]);
        assert_non_null(strstr(res.err, want));
    }
    assert_non_null(strstr(res.err, "/components/0/scope"));
    proc_result_free(&res);
}

/* apt-cache policy's output for the SBOM's Debian packages, each offered at
 * the version recorded, into path. */
static void write_policy(json_t *bom, const char *path)
{
    char text[8192] = "";
    json_t *linked = linked_components(bom), *c;
    size_t i;
    json_array_foreach(linked, i, c)
    {
        char block[512];
        snprintf(block, sizeof block,
                 "%s:\n  Installed: %s\n  Candidate: %s\n  Version table:\n *** %s 500\n"
                 "        500 http://deb.debian.org/debian bookworm/main Packages\n",
                 prop(c, "bcr:debian:package"), prop(c, "bcr:debian:package-version"),
                 prop(c, "bcr:debian:package-version"), prop(c, "bcr:debian:package-version"));
        strncat(text, block, sizeof text - strlen(text) - 1);
    }
    json_decref(linked);
    files_write(path, text, strlen(text));
}

static int check_deps(const char *policy, const char *sbom, char **err)
{
    char env_policy[4400];
    snprintf(env_policy, sizeof env_policy, "BCR_APT_POLICY=%s", policy);
    char *env[] = {env_policy, NULL};
    char *argv[] = {"scripts/check-deps.py", (char *)sbom, NULL};
    struct proc_result res;
    proc_run(argv, NULL, env, 60, &res);
    int status = res.status;
    *err = res.err;
    res.err = NULL;
    proc_result_free(&res);
    return status;
}

/* check-deps passes when Debian offers what the package was built with, and
 * fails, naming the package and both versions, when the package records an
 * older OpenSSL than Debian offers (a security update not yet built in). The
 * versions on offer come from a file in apt-cache policy's format: no
 * network. */
static void test_check_deps_names_an_outdated_library(void **state)
{
    (void)state;
    REQUIRE_PACKAGES();
    struct package *p = &packages[n_packages - 1];
    char policy[4300], old[4300];
    snprintf(policy, sizeof policy, "%s/policy.txt", tmp);
    snprintf(old, sizeof old, "%s/old.cdx.json", tmp);
    write_policy(p->bom, policy);
    char *err = NULL;
    if (check_deps(policy, p->sbom, &err) != 0)
        fail_msg("check-deps failed on an up-to-date package: %s", err);
    free(err);

    json_t *bom = json_deep_copy(p->bom), *c;
    size_t i;
    const char *openssl_pkg = NULL;
    json_array_foreach(json_object_get(bom, "components"), i, c)
    {
        if (strcmp(str(c, "name"), "openssl") != 0)
            continue;
        json_t *pr;
        size_t j;
        json_array_foreach(json_object_get(c, "properties"), j, pr)
        {
            if (strcmp(str(pr, "name"), "bcr:debian:package-version") == 0)
                json_object_set_new(pr, "value", json_string("3.0.0-1"));
            if (strcmp(str(pr, "name"), "bcr:debian:package") == 0)
                openssl_pkg = str(pr, "value");
        }
    }
    assert_non_null(openssl_pkg);
    assert_int_equal(json_dump_file(bom, old, 0), 0);
    assert_int_equal(check_deps(policy, old, &err), 1);
    if (!strstr(err, openssl_pkg) || !strstr(err, "3.0.0-1") || !strstr(err, "rebuild"))
        fail_msg("check-deps did not name %s 3.0.0-1: %s", openssl_pkg, err);
    /* Only the one package is named. */
    assert_int_equal(count_lines(err), 1);
    free(err);
    json_decref(bom);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_section_and_sbom_agree),
        cmocka_unit_test(test_sbom_names_every_library),
        cmocka_unit_test(test_sbom_valid_against_schema),
        cmocka_unit_test(test_check_deps_names_an_outdated_library),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
