/* bootstrap: the Lambda package's entry point (provided.al2023 and
 * provided.al2 run $LAMBDA_TASK_ROOT/bootstrap).
 *
 * Linked statically, so it runs where none of the build machine's libraries
 * are, without a shell. It starts the real program with the dynamic loader
 * and libraries bundled next to it, and nothing else, as aws-lambda-cpp's
 * packager does with a shell script:
 *   ROOT/lib/LOADER --inhibit-cache --library-path ROOT/lib --argv0 ARGV0
 *                   ROOT/bin/backend-checks-results ARGS...
 * ROOT is the directory of /proc/self/exe, else of argv[0] when it is a path,
 * else LAMBDA_TASK_ROOT, else /var/task. scripts/package.sh builds it with
 * BCR_LOADER set to the build machine's loader name. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef BCR_LOADER
#error "BCR_LOADER (the dynamic loader's file name) must be defined"
#endif

#define PROGRAM "backend-checks-results"

/* Cuts path at its last '/' (keeping "/" for a file in the root). */
static int dir_of(char *path)
{
    char *slash = strrchr(path, '/');
    if (!slash)
        return -1;
    if (slash == path)
        slash++;
    *slash = '\0';
    return 0;
}

static void find_root(const char *argv0, char *root, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", root, cap - 1);
    if (n > 0) {
        root[n] = '\0';
        if (dir_of(root) == 0)
            return;
    }
    if (argv0 && argv0[0] == '/' && strlen(argv0) < cap) {
        snprintf(root, cap, "%s", argv0);
        if (dir_of(root) == 0)
            return;
    }
    const char *task_root = getenv("LAMBDA_TASK_ROOT");
    snprintf(root, cap, "%s", task_root && task_root[0] ? task_root : "/var/task");
}

int main(int argc, char **argv)
{
    char root[PATH_MAX], loader[PATH_MAX + 64], lib[PATH_MAX + 64], program[PATH_MAX + 64];
    find_root(argc > 0 ? argv[0] : NULL, root, sizeof root);
    snprintf(loader, sizeof loader, "%s/lib/%s", root, BCR_LOADER);
    snprintf(lib, sizeof lib, "%s/lib", root);
    snprintf(program, sizeof program, "%s/bin/" PROGRAM, root);

    char **args = calloc((size_t)argc + 8, sizeof *args);
    if (!args) {
        fputs("bootstrap: out of memory\n", stderr);
        return 127;
    }
    int n = 0;
    args[n++] = loader;
    args[n++] = "--inhibit-cache"; /* never the host's ld.so.cache: only lib/ */
    args[n++] = "--library-path";
    args[n++] = lib;
    args[n++] = "--argv0";
    args[n++] = argc > 0 ? argv[0] : "bootstrap";
    args[n++] = program;
    for (int i = 1; i < argc; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    execv(loader, args);
    fprintf(stderr, "bootstrap: cannot run %s: %s\n", loader, strerror(errno));
    free(args);
    return 127;
}
