#define _POSIX_C_SOURCE 200809L
#include "files.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"

char *files_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/bcr-test.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(path))
        mem_fail(path);
    return mem_check(strdup(path));
}

void files_rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
            files_rmtree(child);
        else
            unlink(child);
    }
    closedir(d);
    rmdir(path);
}

void files_make_parents(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0777);
            *p = '/';
        }
    }
}

void files_write(const char *path, const void *data, size_t len)
{
    files_make_parents(path);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        mem_fail(path);
}

char *files_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct mem_buf g = {0};
    mem_buf_append(&g, "", 0);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        mem_buf_append(&g, chunk, n);
    fclose(f);
    if (len)
        *len = g.len;
    return g.data;
}

int files_count(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(child, &st) != 0)
            continue;
        count += S_ISDIR(st.st_mode) ? files_count(child) : S_ISREG(st.st_mode);
    }
    closedir(d);
    return count;
}
