/* The directory store under stress: a disk that fills, files that are not
 * regular, symlinks out of the store, aliased keys, file modes, signals and
 * the temporary files a killed run leaves. Each test runs the command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "proc.h"
#include "files.h"
#include "gen.h"
#include "store_dir.h"

#define BUCKET "tdr-backend-checks-intg"
#define TMP_DIR ".backend-checks-results.tmp"

struct fx {
    char *root; /* the test's directory */
    char store[4096];
    char event_path[8192];
    struct gen_export_info info;
};

static int setup(void **state)
{
    struct fx *f = mem_check(calloc(1, sizeof *f));
    f->root = files_tmpdir();
    snprintf(f->store, sizeof f->store, "%s/store", f->root);
    mkdir(f->store, 0777);
    snprintf(f->event_path, sizeof f->event_path, "%s/event.json", f->root);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char mnt[8192];
    snprintf(mnt, sizeof mnt, "%s/store", f->root);
    umount2(mnt, MNT_DETACH); /* if a test mounted one; harmless otherwise */
    files_rmtree(f->root);
    free(f->root);
    free(f);
    return 0;
}

static void make_export(struct fx *f, uint64_t entries, int files)
{
    struct gen_export_spec spec = {.bucket = BUCKET, .entries = entries, .files = files, .seed = 7};
    gen_export(f->store, &spec, NULL, &f->info);
    files_write(f->event_path, f->info.event, strlen(f->info.event));
}

static void write_event(struct fx *f, const char *event)
{
    files_write(f->event_path, event, strlen(event));
}

static void run(struct fx *f, struct proc_result *res)
{
    char *argv[] = {(char *)proc_bin(), "--store", f->store, f->event_path, NULL};
    proc_run(argv, NULL, NULL, 60, res);
}

static void path_of(const struct fx *f, const char *key, char *out, size_t cap)
{
    snprintf(out, cap, "%s/" BUCKET "/%s", f->store, key);
}

/* The reply's key, or fails the test. */
static void reply_key(const struct proc_result *res, char *key, size_t cap)
{
    json_t *doc = json_loads(res->out, 0, NULL);
    assert_non_null(doc);
    const char *k = json_string_value(json_object_get(doc, "key"));
    assert_non_null(k);
    snprintf(key, cap, "%s", k);
    json_decref(doc);
}

static void assert_failed(const struct proc_result *res, int status, const char *type,
                          const char *message_part)
{
    char line[4096], want[128];
    proc_last_line(res->err, line, sizeof line);
    snprintf(want, sizeof want, "{\"errorType\": \"%s\"", type);
    if (res->status != status || strncmp(line, want, strlen(want)) != 0 ||
        (message_part && !strstr(line, message_part)))
        fprintf(stderr, "status %d, stderr:\n%s\n", res->status, res->err);
    assert_int_equal(res->status, status);
    assert_int_equal(res->out_len, 0);
    assert_true(strncmp(line, want, strlen(want)) == 0);
    if (message_part)
        assert_non_null(strstr(line, message_part));
}

/* The error document's message is exactly `message`, and an ERROR line
 * before it says where (the location is not in the message). */
static void assert_exactly(const struct proc_result *res, const char *type, const char *message,
                           const char *where)
{
    assert_failed(res, 1, type, NULL);
    char line[4096], where_line[4096];
    proc_last_line(res->err, line, sizeof line);
    json_t *doc = json_loads(line, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "errorMessage")), message);
    json_decref(doc);
    snprintf(where_line, sizeof where_line, " where=%s\n", where);
    if (!strstr(res->err, where_line))
        fprintf(stderr, "no \"%s\" in stderr:\n%s\n", where_line, res->err);
    assert_non_null(strstr(res->err, where_line));
}

/* Entries of a directory (not . and ..); 0 if it does not exist. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* Regular files of the store other than the export's (which has files + 1),
 * the bucket's .keep files excluded: what a run left behind. */
static int leftovers(const struct fx *f, int export_files)
{
    return files_count(f->store) - export_files;
}

/* ---- a full disk ---- */

/* Mounts a tmpfs of `size` at the store; false (and the test is skipped) where
 * mounting is refused. */
static bool mount_tmpfs(struct fx *f, const char *options)
{
    if (mount("bcr-test", f->store, "tmpfs", 0, options) != 0) {
        fprintf(stderr, "  skipped: cannot mount a tmpfs (%s): needs root and CAP_SYS_ADMIN\n",
                strerror(errno));
        return false;
    }
    return true;
}

/* Fills the file system of dir so that `leave` bytes stay free. */
static void fill_leaving(const char *dir, uint64_t leave)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/filler", dir);
    unlink(path);
    struct statvfs vfs;
    assert_int_equal(statvfs(dir, &vfs), 0);
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (avail <= leave)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    static char block[65536];
    uint64_t todo = avail - leave;
    while (todo > 0) {
        size_t n = todo < sizeof block ? (size_t)todo : sizeof block;
        ssize_t done = write(fd, block, n);
        if (done <= 0)
            break;
        todo -= (uint64_t)done;
    }
    close(fd);
}

/* Whatever space is left when the disk fills, the run either writes a
 * complete results.json or fails with IOError and writes nothing: not in the
 * middle of the stream, not in the last buffer handed over at commit, not
 * when the directories for the key cannot be made (no inodes left). */
static void test_full_disk_writes_nothing(void **state)
{
    struct fx *f = *state;
    if (!mount_tmpfs(f, "size=6m,nr_inodes=64")) {
        skip();
        return;
    }
    make_export(f, 1200, 2); /* results.json of about 1.4 MB */
    char cons_dir[8192];
    path_of(f, f->info.consignment_id, cons_dir, sizeof cons_dir);
    int cons_entries = count_entries(cons_dir);

    /* A first run sizes the output (and makes the temporary directory). */
    struct proc_result res;
    run(f, &res);
    assert_int_equal(res.status, 0);
    char key[1200], path[8192];
    reply_key(&res, key, sizeof key);
    path_of(f, key, path, sizeof path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    uint64_t output = (uint64_t)st.st_size;
    assert_true(output > 1024 * 1024);
    proc_result_free(&res);
    char uuid_dir[8192];
    snprintf(uuid_dir, sizeof uuid_dir, "%s", path);
    *strrchr(uuid_dir, '/') = '\0';
    unlink(path);
    rmdir(uuid_dir);

    int failed = 0, succeeded = 0;
    for (uint64_t leave = 0; leave < output + 256 * 1024; leave += 96 * 1024) {
        fill_leaving(f->store, leave);
        run(f, &res);
        if (res.status == 0) {
            succeeded++;
            reply_key(&res, key, sizeof key);
            path_of(f, key, path, sizeof path);
            size_t len;
            char *text = files_read(path, &len);
            assert_non_null(text);
            assert_int_equal(len, output);
            free(text);
            unlink(path);
            snprintf(uuid_dir, sizeof uuid_dir, "%s", path);
            *strrchr(uuid_dir, '/') = '\0';
            assert_int_equal(rmdir(uuid_dir), 0);
        } else {
            failed++;
            assert_failed(&res, 1, "IOError", "No space left on device");
        }
        proc_result_free(&res);
        /* Nothing left: no results.json, no directory, no temporary file. */
        assert_int_equal(count_entries(cons_dir), cons_entries);
        char tmp[8192];
        path_of(f, TMP_DIR, tmp, sizeof tmp);
        assert_int_equal(count_entries(tmp), 0);
    }
    assert_true(failed >= 10);
    assert_true(succeeded >= 1);

    /* Out of inodes: the temporary file can be made, the key's directory not. */
    char filler[8192];
    snprintf(filler, sizeof filler, "%s/filler", f->store);
    unlink(filler);
    for (int i = 0; i < 1000; i++) {
        char name[8300];
        snprintf(name, sizeof name, "%s/i%d", f->store, i);
        int fd = open(name, O_WRONLY | O_CREAT, 0644);
        if (fd < 0)
            break;
        close(fd);
    }
    snprintf(filler, sizeof filler, "%s/i0", f->store);
    assert_int_equal(unlink(filler), 0); /* one inode: the temporary file */
    run(f, &res);
    assert_failed(&res, 1, "IOError", "cannot create directory");
    proc_result_free(&res);
    assert_int_equal(count_entries(cons_dir), cons_entries);
    char tmp[8192];
    path_of(f, TMP_DIR, tmp, sizeof tmp);
    assert_int_equal(count_entries(tmp), 0);
}

/* ---- files that are not regular ---- */

/* A FIFO, a socket or a directory where a result file or the manifest should
 * be is refused at once, never opened for a read that would wait forever. */
static void test_non_regular_files_refused(void **state)
{
    struct fx *f = *state;
    make_export(f, 10, 1);
    char manifest[8192], result[8192];
    path_of(f, f->info.manifest_key, manifest, sizeof manifest);
    snprintf(result, sizeof result, "%s", manifest);
    snprintf(strrchr(result, '/'), 32, "/SUCCEEDED_0.json");

    /* A FIFO as the result file. */
    assert_int_equal(unlink(result), 0);
    assert_int_equal(mkfifo(result, 0644), 0);
    struct proc_result res;
    run(f, &res);
    assert_failed(&res, 1, "InvalidKey", "is a FIFO in the directory store, not a regular file");
    proc_result_free(&res);
    assert_int_equal(unlink(result), 0);

    /* A socket as the result file. */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(result) < sizeof addr.sun_path) {
        snprintf(addr.sun_path, sizeof addr.sun_path, "%s", result);
        assert_int_equal(bind(s, (struct sockaddr *)&addr, sizeof addr), 0);
        run(f, &res);
        assert_failed(&res, 1, "InvalidKey", "is a socket");
        proc_result_free(&res);
        unlink(result);
    }
    close(s);

    /* A FIFO as the manifest. */
    assert_int_equal(unlink(manifest), 0);
    assert_int_equal(mkfifo(manifest, 0644), 0);
    run(f, &res);
    assert_failed(&res, 1, "InvalidKey", "is a FIFO");
    proc_result_free(&res);
    assert_int_equal(unlink(manifest), 0);

    /* A directory as the manifest: a prefix, no object (as S3 would say). */
    assert_int_equal(mkdir(manifest, 0777), 0);
    run(f, &res);
    assert_failed(&res, 1, "NoSuchKey", "The specified key does not exist.");
    proc_result_free(&res);
    assert_int_equal(leftovers(f, 0), 0);
}

/* ---- symlinks ---- */

/* A symlinked directory or file in the bucket, or a symlinked bucket, is
 * refused: nothing is read from outside the store, nothing written there. */
static void test_symlinks_refused(void **state)
{
    struct fx *f = *state;
    make_export(f, 10, 1);
    char outside[8192], cons[8192];
    snprintf(outside, sizeof outside, "%s/outside", f->root);
    path_of(f, f->info.consignment_id, cons, sizeof cons);
    /* Move the consignment's export out of the store and link it back in. */
    assert_int_equal(rename(cons, outside), 0);
    assert_int_equal(symlink(outside, cons), 0);
    struct proc_result res;
    run(f, &res);
    assert_failed(&res, 1, "InvalidKey", "a symbolic link, which the directory store does not");
    proc_result_free(&res);
    assert_int_equal(files_count(outside), 2); /* manifest and result file only */

    /* A symlinked manifest file. */
    assert_int_equal(unlink(cons), 0);
    assert_int_equal(rename(outside, cons), 0);
    char manifest[8192], moved[8192];
    path_of(f, f->info.manifest_key, manifest, sizeof manifest);
    snprintf(moved, sizeof moved, "%s/manifest.json", f->root);
    assert_int_equal(rename(manifest, moved), 0);
    assert_int_equal(symlink(moved, manifest), 0);
    run(f, &res);
    assert_failed(&res, 1, "InvalidKey", "symbolic link");
    proc_result_free(&res);
    assert_int_equal(unlink(manifest), 0);
    assert_int_equal(rename(moved, manifest), 0);

    /* A symlinked bucket. */
    char bucket[8192], elsewhere[8192];
    snprintf(bucket, sizeof bucket, "%s/" BUCKET, f->store);
    snprintf(elsewhere, sizeof elsewhere, "%s/bucket-elsewhere", f->root);
    assert_int_equal(rename(bucket, elsewhere), 0);
    assert_int_equal(symlink(elsewhere, bucket), 0);
    run(f, &res);
    assert_failed(&res, 1, "InvalidKey", "is a symbolic link");
    proc_result_free(&res);
    assert_int_equal(files_count(elsewhere), 2);
}

/* ---- keys and modes ---- */

/* "a//b" is not the key "a/b": it is refused, never read as that file. */
static void test_empty_key_segments_refused(void **state)
{
    struct fx *f = *state;
    make_export(f, 10, 1);
    char event[4096], key[1100];
    const char *slash = strchr(f->info.manifest_key, '/');
    snprintf(key, sizeof key, "%.*s/%s", (int)(slash - f->info.manifest_key), f->info.manifest_key,
             slash);
    snprintf(event, sizeof event,
             "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET
             "\", \"Key\": \"%s\"}}}",
             key);
    write_event(f, event);
    struct proc_result res;
    run(f, &res);
    assert_failed(&res, 1, "InvalidKey", "has an empty segment");
    proc_result_free(&res);
    assert_int_equal(leftovers(f, 2), 0);
}

/* A missing object or bucket reads exactly as boto3 says it, the object in
 * the ERROR line's where, not in the message. */
static void test_missing_objects_worded_as_s3(void **state)
{
    struct fx *f = *state;
    make_export(f, 10, 1);
    char event[4096], where[4096];
    snprintf(event, sizeof event,
             "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET
             "\", \"Key\": \"%s/missing/manifest.json\"}}}",
             f->info.consignment_id);
    write_event(f, event);
    struct proc_result res;
    run(f, &res);
    snprintf(where, sizeof where, "GetObject s3://" BUCKET "/%s/missing/manifest.json",
             f->info.consignment_id);
    assert_exactly(&res, "NoSuchKey",
                   "An error occurred (NoSuchKey) when calling the GetObject operation: The "
                   "specified key does not exist.",
                   where);
    proc_result_free(&res);

    /* A directory where the object would be: a prefix, no object. */
    char key[1200], path[8192];
    snprintf(key, sizeof key, "%s/missing", f->info.consignment_id);
    path_of(f, key, path, sizeof path);
    assert_int_equal(mkdir(path, 0777), 0);
    snprintf(key, sizeof key, "%s/missing/manifest.json", f->info.consignment_id);
    path_of(f, key, path, sizeof path);
    assert_int_equal(mkdir(path, 0777), 0);
    run(f, &res);
    assert_exactly(&res, "NoSuchKey",
                   "An error occurred (NoSuchKey) when calling the GetObject operation: The "
                   "specified key does not exist.",
                   where);
    proc_result_free(&res);

    snprintf(event, sizeof event,
             "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"no-such-bucket\", "
             "\"Key\": \"%s\"}}}",
             f->info.manifest_key);
    write_event(f, event);
    run(f, &res);
    snprintf(where, sizeof where, "GetObject s3://no-such-bucket/%s", f->info.manifest_key);
    assert_exactly(&res, "NoSuchBucket",
                   "An error occurred (NoSuchBucket) when calling the GetObject operation: The "
                   "specified bucket does not exist",
                   where);
    proc_result_free(&res);
    assert_int_equal(leftovers(f, 2), 0);
}

/* A manifest at a key without '/' ("manifest.json") makes the consignment id
 * "manifest.json": S3 keeps that object and "manifest.json/UUID/results.json"
 * side by side, a directory cannot. The write is refused as what it is, an
 * InvalidKey naming both keys, not reported as a missing object. */
static void test_key_colliding_with_an_object(void **state)
{
    struct fx *f = *state;
    make_export(f, 10, 1);
    char from[8192], to[8192];
    path_of(f, f->info.manifest_key, from, sizeof from);
    path_of(f, "manifest.json", to, sizeof to);
    assert_int_equal(rename(from, to), 0);
    write_event(f, "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET
                   "\", \"Key\": \"manifest.json\"}}}");
    struct proc_result res;
    run(f, &res);
    assert_failed(&res, 1, "InvalidKey", NULL);
    char line[4096];
    proc_last_line(res.err, line, sizeof line);
    json_t *doc = json_loads(line, 0, NULL);
    const char *m = json_string_value(json_object_get(doc, "errorMessage"));
    static const char head[] = "object key \"manifest.json/";
    assert_non_null(m);
    assert_true(strlen(m) > sizeof head + 36);
    const char *uuid = m + sizeof head - 1; /* the results key's fresh UUID */
    char want[512], where[512];
    snprintf(want, sizeof want,
             "%s%.36s/results.json\" in bucket " BUCKET " cannot be written: the object "
             "\"manifest.json\" is a file where the directory store needs a directory for it (S3 "
             "can hold both keys, a directory store cannot)",
             head, uuid);
    assert_string_equal(m, want);
    snprintf(where, sizeof where,
             " where=PutObject s3://" BUCKET "/manifest.json/%.36s/results.json\n", uuid);
    assert_non_null(strstr(res.err, where));
    json_decref(doc);
    proc_result_free(&res);
    assert_int_equal(leftovers(f, 2), 0);
    char made[8300];
    snprintf(made, sizeof made, "%s/" BUCKET "/" TMP_DIR, f->store);
    assert_int_equal(count_entries(made), 0);
}

/* The same store through its interface, for a key whose path is a directory
 * of other objects (S3 keeps "a/b" beside "a/b/c" too): refused at commit as
 * InvalidKey, never as a read error, and nothing is left. */
static void test_key_colliding_with_a_prefix(void **state)
{
    struct fx *f = *state;
    char other[8192];
    path_of(f, "a/b/c", other, sizeof other);
    files_write(other, "x", 1);
    struct error err = {0};
    struct store *s = store_dir_new(f->store, &err);
    assert_non_null(s);
    struct store_writer *w;
    assert_int_equal(store_open_write(s, BUCKET, "a/b", &w, &err), 0);
    assert_int_equal(store_write(s, w, "{}", 2, &err), 0);
    assert_int_equal(store_commit(s, w, &err), -1);
    assert_string_equal(err.type, "InvalidKey");
    assert_string_equal(err.message,
                        "object key \"a/b\" in bucket " BUCKET " cannot be written: the directory "
                        "store holds objects whose keys begin \"a/b/\", in a directory of that "
                        "name (S3 can hold both keys, a directory store cannot)");
    assert_string_equal(err.where, "PutObject s3://" BUCKET "/a/b");

    /* And below an object: "a/b/c/d" needs "a/b/c" to be a directory. */
    error_clear(&err);
    assert_int_equal(store_open_write(s, BUCKET, "a/b/c/d", &w, &err), 0);
    assert_int_equal(store_commit(s, w, &err), -1);
    assert_string_equal(err.type, "InvalidKey");
    assert_string_equal(err.message,
                        "object key \"a/b/c/d\" in bucket " BUCKET " cannot be written: the "
                        "object \"a/b/c\" is a file where the directory store needs a directory "
                        "for it (S3 can hold both keys, a directory store cannot)");
    assert_string_equal(err.where, "PutObject s3://" BUCKET "/a/b/c/d");
    store_destroy(s);
    assert_int_equal(files_count(f->store), 1);
}

/* results.json is as readable as any file the user writes: 0666 minus the
 * umask, not a temporary file's 0600. */
static void test_results_mode_follows_umask(void **state)
{
    struct fx *f = *state;
    make_export(f, 10, 1);
    mode_t old = umask(022);
    struct proc_result res;
    run(f, &res);
    umask(old);
    assert_int_equal(res.status, 0);
    char key[1200], path[8192];
    reply_key(&res, key, sizeof key);
    proc_result_free(&res);
    path_of(f, key, path, sizeof path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
}

/* ---- temporary files ---- */

/* A temporary file a killed run left (older than a day) is removed by the next
 * run; a recent one (a run in progress) and files not named as ours stay. */
static void test_stale_temporary_files_removed(void **state)
{
    struct fx *f = *state;
    make_export(f, 10, 1);
    char tmp[8192], stale[8300], fresh[8300], other[8300];
    path_of(f, TMP_DIR, tmp, sizeof tmp);
    snprintf(stale, sizeof stale, "%s/0c2d2a35-1111-4222-8333-444455556666.partial", tmp);
    snprintf(fresh, sizeof fresh, "%s/1c2d2a35-1111-4222-8333-444455556666.partial", tmp);
    snprintf(other, sizeof other, "%s/notes.txt", tmp);
    files_write(stale, "x", 1);
    files_write(fresh, "x", 1);
    files_write(other, "x", 1);
    struct timespec two_days_ago[2] = {{time(NULL) - 2 * 86400, 0}, {time(NULL) - 2 * 86400, 0}};
    assert_int_equal(utimensat(AT_FDCWD, stale, two_days_ago, 0), 0);
    assert_int_equal(utimensat(AT_FDCWD, other, two_days_ago, 0), 0);
    struct proc_result res;
    run(f, &res);
    assert_int_equal(res.status, 0);
    proc_result_free(&res);
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(access(fresh, F_OK), 0);
    assert_int_equal(access(other, F_OK), 0);

    /* Our temporary directory is no key space: reading from it is refused. */
    char event[4096];
    snprintf(event, sizeof event,
             "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET
             "\", \"Key\": \"" TMP_DIR "/1c2d2a35-1111-4222-8333-444455556666.partial\"}}}");
    write_event(f, event);
    run(f, &res);
    assert_failed(&res, 1, "InvalidKey", "temporary files");
    proc_result_free(&res);
}

/* ---- signals ---- */

struct watch_tmp {
    char bucket_dir[8192];
};

/* Bytes in files that look like a run's temporary file, in our directory or
 * (where older versions put them) the bucket directory. */
static long long temporary_bytes(const char *dir, const char *prefix)
{
    long long total = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            total += st.st_size;
    }
    closedir(d);
    return total;
}

static bool writing_started(void *ctx)
{
    struct watch_tmp *w = ctx;
    char tmp[8300];
    snprintf(tmp, sizeof tmp, "%s/" TMP_DIR, w->bucket_dir);
    return temporary_bytes(tmp, "") + temporary_bytes(w->bucket_dir, ".backend-checks-results.") >=
           4 * 1024 * 1024;
}

/* A manifest that lists the export's one result file `times` times: a long
 * run from a small export. */
static void repeat_result_file(struct fx *f, int times)
{
    char manifest[8192];
    path_of(f, f->info.manifest_key, manifest, sizeof manifest);
    json_t *doc = json_load_file(manifest, 0, NULL);
    assert_non_null(doc);
    json_t *succeeded = json_object_get(json_object_get(doc, "ResultFiles"), "SUCCEEDED");
    json_t *first = json_incref(json_array_get(succeeded, 0));
    json_array_clear(succeeded);
    for (int i = 0; i < times; i++)
        json_array_append(succeeded, first);
    json_decref(first);
    assert_int_equal(json_dump_file(doc, manifest, JSON_COMPACT), 0);
    json_decref(doc);
}

/* SIGTERM or SIGINT mid-run: the temporary file is removed, nothing written,
 * exit 128 + the signal with an Interrupted error. */
static void assert_signal_leaves_nothing(struct fx *f, int signo)
{
    struct watch_tmp w;
    snprintf(w.bucket_dir, sizeof w.bucket_dir, "%s/" BUCKET, f->store);
    struct proc_signal sig = {signo, writing_started, &w};
    char *argv[] = {(char *)proc_bin(), "--store", f->store, f->event_path, NULL};
    struct proc_result res;
    proc_run_signal(argv, NULL, 120, &sig, &res);
    assert_failed(&res, 128 + signo, "Interrupted",
                  signo == SIGTERM ? "stopped by SIGTERM" : "stopped by SIGINT");
    proc_result_free(&res);
    assert_int_equal(leftovers(f, 2), 0);
    char tmp[8300];
    snprintf(tmp, sizeof tmp, "%s/" TMP_DIR, w.bucket_dir);
    assert_int_equal(count_entries(tmp), 0);
}

static void test_signals_leave_nothing(void **state)
{
    struct fx *f = *state;
    make_export(f, 2000, 1); /* a 3 MB result file, read 3,000 times: a 9 GB run */
    repeat_result_file(f, 3000);
    assert_signal_leaves_nothing(f, SIGTERM);
    assert_signal_leaves_nothing(f, SIGINT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_disk_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_regular_files_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinks_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_key_segments_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_objects_worded_as_s3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_colliding_with_an_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_colliding_with_a_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_mode_follows_umask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_temporary_files_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signals_leave_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
