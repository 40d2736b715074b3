#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jsonw.h"

extern char **environ;

static void die(const char *what)
{
    fprintf(stderr, "harness: %s: %s\n", what, strerror(errno));
    exit(99);
}

const char *harness_bin(void)
{
    const char *bin = getenv("BCR_BIN");
    return bin && *bin ? bin : "build/backend-checks-results";
}

struct growing {
    char *data;
    size_t len, cap;
};

static void grow_append(struct growing *g, const char *p, size_t n)
{
    if (g->len + n + 1 > g->cap) {
        g->cap = (g->len + n + 1) * 2;
        g->data = realloc(g->data, g->cap);
        if (!g->data)
            die("realloc");
    }
    memcpy(g->data + g->len, p, n);
    g->len += n;
    g->data[g->len] = '\0';
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void run_core(char *const argv[], const char *input, char *const env[], int timeout_s,
                     const struct harness_signal *sig, struct run_result *res)
{
    int in[2], out[2], err[2];
    if (pipe(in) || pipe(out) || pipe(err))
        die("pipe");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        for (size_t i = 0; env && env[i]; i++)
            putenv(env[i]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    signal(SIGPIPE, SIG_IGN);
    struct growing o = {0}, e = {0};
    grow_append(&o, "", 0);
    grow_append(&e, "", 0);
    size_t in_len = input ? strlen(input) : 0, in_done = 0;
    if (in_len == 0) {
        close(in[1]);
        in[1] = -1;
    }
    int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
    bool killed = false, signalled = false;
    while (out[0] >= 0 || err[0] >= 0) {
        if (sig && !signalled && sig->ready(sig->ctx)) {
            kill(pid, sig->signo);
            signalled = true;
        }
        struct pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
        int64_t most = sig && !signalled ? 20 : 1000;
        if (poll(fds, 3, (int)(left > most ? most : left)) < 0 && errno != EINTR)
            die("poll");
        for (int i = 0; i < 2; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[65536];
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n <= 0) {
                close(fds[i].fd);
                if (i == 0)
                    out[0] = -1;
                else
                    err[0] = -1;
            } else {
                grow_append(i == 0 ? &o : &e, chunk, (size_t)n);
            }
        }
        if (in[1] >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(in[1], input + in_done, in_len - in_done);
            if (n > 0)
                in_done += (size_t)n;
            if (n < 0 || in_done == in_len) {
                close(in[1]);
                in[1] = -1;
            }
        }
    }
    if (in[1] >= 0)
        close(in[1]);
    if (out[0] >= 0)
        close(out[0]);
    if (err[0] >= 0)
        close(err[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    res->status = killed              ? 128 + SIGKILL
                  : WIFEXITED(status) ? WEXITSTATUS(status)
                                      : 128 + WTERMSIG(status);
    res->out = o.data;
    res->out_len = o.len;
    res->err = e.data;
    res->err_len = e.len;
}

void harness_run(char *const argv[], const char *input, char *const env[], int timeout_s,
                 struct run_result *res)
{
    run_core(argv, input, env, timeout_s, NULL, res);
}

void harness_run_signal(char *const argv[], char *const env[], int timeout_s,
                        const struct harness_signal *sig, struct run_result *res)
{
    run_core(argv, NULL, env, timeout_s, sig, res);
}

void run_result_free(struct run_result *res)
{
    free(res->out);
    free(res->err);
    memset(res, 0, sizeof *res);
}

void harness_last_line(const char *text, char *out, size_t cap)
{
    size_t len = strlen(text);
    while (len > 0 && text[len - 1] == '\n')
        len--;
    size_t start = len;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    snprintf(out, cap, "%.*s", (int)(len - start), text + start);
}

char *harness_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/bcr-test.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(path))
        die("mkdtemp");
    return strdup(path);
}

void harness_rmtree(const char *path)
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
            harness_rmtree(child);
        else
            unlink(child);
    }
    closedir(d);
    rmdir(path);
}

static void make_parents(const char *path)
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

void harness_write_file(const char *path, const void *data, size_t len)
{
    make_parents(path);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        die(path);
}

char *harness_nested_json(int depth, bool objects)
{
    char *s = malloc((size_t)depth * 6 + 2), *p = s;
    if (!s)
        abort();
    for (int i = 0; i < depth; i++)
        p += sprintf(p, objects ? "{\"a\":" : "[");
    if (objects)
        *p++ = '1';
    for (int i = 0; i < depth; i++)
        *p++ = objects ? '}' : ']';
    *p = '\0';
    return s;
}

char *harness_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct growing g = {0};
    grow_append(&g, "", 0);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        grow_append(&g, chunk, n);
    fclose(f);
    if (len)
        *len = g.len;
    return g.data;
}

int harness_count_files(const char *dir)
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
        count += S_ISDIR(st.st_mode) ? harness_count_files(child) : S_ISREG(st.st_mode);
    }
    closedir(d);
    return count;
}

/* The generator: a deterministic xorshift stream, so a seed names an export. */
struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static void rng_uuid(struct rng *r, char out[37])
{
    uint64_t a = rng_next(r), b = rng_next(r);
    snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
             (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
             (unsigned long long)(b & 0xffffffffffffULL));
}

static void rng_hex(struct rng *r, char *out, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < digits; i++)
        out[i] = hex[rng_next(r) & 15];
    out[digits] = '\0';
}

static void kv_string(struct jsonw *w, const char *name, const char *value, bool first)
{
    jsonw_raw(w, first ? "" : ",");
    jsonw_string(w, name);
    jsonw_raw(w, ":");
    if (value)
        jsonw_string(w, value);
    else
        jsonw_raw(w, "null");
}

/* One file's record, as the checks write it (compact JSON). */
static int make_record(struct rng *r, const char *consignment, char *out, size_t cap)
{
    static const char *const folders[] = {"Board minutes", "Reports", "Photos",
                                          "\xc3\x9c"
                                          "n\xc3\xaf"
                                          "c\xc3\xb8"
                                          "d\xc3\xa9 \xe2\x9c\x93",
                                          "Emoji \xf0\x9f\x93\x81 \"quoted\" \\ back"};
    static const char *const exts[] = {"pdf", "docx", "txt", "jpg", "xlsx", "tif"};
    char fid[37], uid[37], src[37], checksum[65], sha[65], path[256], key[160], size[24], dbv[16],
        puid[16], fmt[32];
    rng_uuid(r, fid);
    rng_uuid(r, uid);
    rng_uuid(r, src);
    rng_hex(r, checksum, 64);
    rng_hex(r, sha, 64);
    const char *ext = exts[rng_next(r) % 6];
    snprintf(path, sizeof path, "Transfer/%s/file-%u.%s", folders[rng_next(r) % 5],
             (unsigned)(rng_next(r) % 1000000), ext);
    snprintf(size, sizeof size, "%llu", (unsigned long long)(rng_next(r) % 1000000000));
    snprintf(dbv, sizeof dbv, "1.0.%u", (unsigned)(rng_next(r) % 100));
    snprintf(puid, sizeof puid, "fmt/%u", (unsigned)(rng_next(r) % 2000));
    snprintf(fmt, sizeof fmt, "Format \"%s\"", ext);
    struct jsonw w;
    jsonw_init(&w, out, cap);
    jsonw_raw(&w, "{");
    kv_string(&w, "consignmentId", consignment, true);
    kv_string(&w, "fileId", fid, false);
    kv_string(&w, "userId", uid, false);
    kv_string(&w, "consignmentType", "standard", false);
    kv_string(&w, "fileSize", size, false);
    kv_string(&w, "clientChecksum", checksum, false);
    kv_string(&w, "originalPath", path, false);
    kv_string(&w, "s3SourceBucket", "tdr-upload-files-cloudfront-dirty-intg", false);
    snprintf(key, sizeof key, "%s/%s/%s", src, consignment, fid);
    kv_string(&w, "s3SourceBucketKey", key, false);
    kv_string(&w, "s3QuarantineBucket", NULL, false);
    kv_string(&w, "s3QuarantineBucketKey", NULL, false);
    kv_string(&w, "s3CleanDestinationBucket", "tdr-upload-files-intg", false);
    snprintf(key, sizeof key, "%s/%s", consignment, fid);
    kv_string(&w, "s3CleanDestinationBucketKey", key, false);
    jsonw_raw(&w, ",\"fileCheckResults\":{\"antivirus\":[{");
    kv_string(&w, "fileId", fid, true);
    kv_string(&w, "software", "yara", false);
    kv_string(&w, "softwareVersion", "4.3.2", false);
    kv_string(&w, "databaseVersion", dbv, false);
    kv_string(&w, "result", "", false);
    jsonw_raw(&w, ",\"datetime\":");
    jsonw_int(&w, 1700000000000LL + (long long)(rng_next(r) % 1000000000));
    jsonw_raw(&w, "}],\"checksum\":[{");
    kv_string(&w, "sha256Checksum", sha, true);
    kv_string(&w, "fileId", fid, false);
    jsonw_raw(&w, "}],\"fileFormat\":[{");
    kv_string(&w, "fileId", fid, true);
    kv_string(&w, "software", "DROID", false);
    kv_string(&w, "softwareVersion", "6.7.0", false);
    kv_string(&w, "binarySignatureFileVersion", "118", false);
    kv_string(&w, "containerSignatureFileVersion", "20240501", false);
    kv_string(&w, "method", "pronom", false);
    jsonw_raw(&w, ",\"matches\":[{");
    kv_string(&w, "extension", ext, true);
    kv_string(&w, "identificationBasis", "Signature", false);
    kv_string(&w, "puid", puid, false);
    jsonw_raw(&w, rng_next(r) % 10 == 0 ? ",\"fileExtensionMismatch\":true"
                                        : ",\"fileExtensionMismatch\":false");
    kv_string(&w, "formatName", fmt, false);
    jsonw_raw(&w, "}]}]}}");
    return jsonw_finish(&w);
}

/* One entry of a result file, wrapping the record as Step Functions does. */
static int make_entry(struct rng *r, const char *record, uint64_t i, char *out, size_t cap)
{
    char name[37], arn[160], start[40];
    rng_uuid(r, name);
    struct jsonw w;
    jsonw_init(&w, out, cap);
    snprintf(arn, sizeof arn,
             "arn:aws:states:eu-west-2:123456789012:execution:tdr-backend-checks-intg/Map:%s",
             name);
    jsonw_raw(&w, "{");
    kv_string(&w, "ExecutionArn", arn, true);
    kv_string(&w, "Input", "{\"fileId\":\"x\"}", false);
    jsonw_raw(&w, ",\"InputDetails\":{\"Included\":true}");
    kv_string(&w, "Name", name, false);
    kv_string(&w, "Output", record, false);
    jsonw_raw(&w, ",\"OutputDetails\":{\"Included\":true},\"RedriveCount\":0");
    kv_string(&w, "RedriveStatus", "NOT_REDRIVABLE", false);
    snprintf(start, sizeof start, "2026-11-21T10:00:%02u.%03uZ", (unsigned)(i % 60),
             (unsigned)(i % 1000));
    kv_string(&w, "StartDate", start, false);
    kv_string(&w, "StateMachineArn",
              "arn:aws:states:eu-west-2:123456789012:stateMachine:tdr-backend-checks-intg/Map",
              false);
    kv_string(&w, "Status", "SUCCEEDED", false);
    kv_string(&w, "StopDate", start, false);
    jsonw_raw(&w, "}");
    return jsonw_finish(&w);
}

void harness_generate_export(const char *root, const struct export_spec *spec,
                             const char *expected_path, struct export_info *info)
{
    const char *bucket = spec->bucket ? spec->bucket : "tdr-backend-checks-intg";
    struct rng r = {0x9e3779b97f4a7c15ULL ^ ((uint64_t)spec->seed * 0x100000001b3ULL + 1)};
    char run[37], maprun[37], prefix[256], path[4096];
    rng_uuid(&r, info->consignment_id);
    rng_uuid(&r, run);
    rng_uuid(&r, maprun);
    snprintf(prefix, sizeof prefix, "%s/%s/results.json/%s", info->consignment_id, run, maprun);
    FILE *expected = expected_path ? fopen(expected_path, "wb") : NULL;
    if (expected_path && !expected)
        die(expected_path);

    int files = spec->files > 0 ? spec->files : 1;
    uint64_t per = (spec->entries + (uint64_t)files - 1) / (uint64_t)files, done = 0;
    struct jsonw manifest;
    static char manifest_text[1 << 20];
    jsonw_init(&manifest, manifest_text, sizeof manifest_text);
    jsonw_raw(&manifest, "{\"DestinationBucket\":");
    jsonw_string(&manifest, bucket);
    jsonw_raw(&manifest, ",\"ResultFiles\":{\"FAILED\":[],\"PENDING\":[],\"SUCCEEDED\":[");
    char *record = malloc(65536), *entry = malloc(262144);
    for (int k = 0; k < files; k++) {
        char key[512];
        snprintf(key, sizeof key, "%s/SUCCEEDED_%d.json", prefix, k);
        snprintf(path, sizeof path, "%s/%s/%s", root, bucket, key);
        make_parents(path);
        FILE *f = fopen(path, "wb");
        if (!f)
            die(path);
        if (!spec->jsonl)
            fputc('[', f);
        for (uint64_t i = 0; i < per && done < spec->entries; i++, done++) {
            if (make_record(&r, info->consignment_id, record, 65536) < 0 ||
                make_entry(&r, record, done, entry, 262144) < 0)
                die("generator buffer");
            if (!spec->jsonl && i > 0)
                fputs(", ", f);
            fputs(entry, f);
            if (spec->jsonl)
                fputc('\n', f);
            if (expected)
                fprintf(expected, "%s\n", record);
        }
        if (!spec->jsonl)
            fputc(']', f);
        long size = ftell(f);
        if (fclose(f) != 0)
            die(path);
        jsonw_raw(&manifest, k ? ",{\"Key\":" : "{\"Key\":");
        jsonw_string(&manifest, key);
        jsonw_raw(&manifest, ",\"Size\":");
        jsonw_int(&manifest, size);
        jsonw_raw(&manifest, "}");
    }
    free(record);
    free(entry);
    jsonw_raw(&manifest, "]}}");
    if (jsonw_finish(&manifest) < 0)
        die("manifest too large");
    snprintf(info->manifest_key, sizeof info->manifest_key, "%s/manifest.json", prefix);
    snprintf(path, sizeof path, "%s/%s/%s", root, bucket, info->manifest_key);
    harness_write_file(path, manifest_text, strlen(manifest_text));
    if (expected && fclose(expected) != 0)
        die(expected_path);

    struct jsonw ev;
    jsonw_init(&ev, info->event, sizeof info->event);
    jsonw_raw(&ev, "{\"results\":{\"MapRunArn\":\"arn:aws:states:eu-west-2:123456789012:mapRun:"
                   "tdr-backend-checks-intg/Map:");
    jsonw_raw(&ev, maprun);
    jsonw_raw(&ev, "\",\"ResultWriterDetails\":{\"Bucket\":");
    jsonw_string(&ev, bucket);
    jsonw_raw(&ev, ",\"Key\":");
    jsonw_string(&ev, info->manifest_key);
    jsonw_raw(&ev, "}}}");
    if (jsonw_finish(&ev) < 0)
        die("event too large");
}
