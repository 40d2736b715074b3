#define _POSIX_C_SOURCE 200809L
#include "s3env.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "mem.h"
#include "proc.h"
#include "settings.h"
#include "util.h"

void s3env_isolate_environment(void)
{
    for (int i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings_table[i];
        if (s->kind != SETTING_ENV)
            continue;
        unsetenv(s->name);
        if (s->alias)
            unsetenv(s->alias);
    }
}

bool s3env_node_available(void)
{
    static int known = -1;
    if (known < 0) {
        known = system("node --version >/dev/null 2>&1") == 0;
        if (!known)
            fprintf(stderr,
                    "s3env: SKIPPING the S3 integration tests: `node` is not installed "
                    "(install Debian's nodejs and npm, then run scripts/install-deps.sh)\n");
    }
    return known;
}

/* tests/s3/server.js: $BCR_S3_SERVER, else below the working directory (the
 * repository root, as `make test` runs), else beside the built program. */
static void server_script(char *out, size_t cap)
{
    const char *env = getenv("BCR_S3_SERVER");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    if (access("tests/s3/server.js", R_OK) == 0) {
        snprintf(out, cap, "tests/s3/server.js");
        return;
    }
    const char *bin = proc_bin();
    const char *slash = strrchr(bin, '/');
    int dir_len = slash ? (int)(slash - bin) : 1;
    snprintf(out, cap, "%.*s/../tests/s3/server.js", dir_len, slash ? bin : ".");
}

/* The CA the control helpers verify an HTTPS proxy with (s3env_options.tls_ca). */
static char control_ca[PATH_MAX];

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

int s3env_start(struct s3env *e, const struct s3env_options *options)
{
    struct s3env_options none = {0};
    const struct s3env_options *o = options ? options : &none;
    memset(e, 0, sizeof *e);
    e->stdin_fd = e->stdout_fd = -1;
    copy(e->access_key, sizeof e->access_key, o->access_key ? o->access_key : S3ENV_ACCESS_KEY);
    copy(e->secret_key, sizeof e->secret_key, o->secret_key ? o->secret_key : S3ENV_SECRET_KEY);
    copy(e->session_token, sizeof e->session_token, o->session_token);
    copy(e->region, sizeof e->region, o->region ? o->region : "eu-west-2");

    char script[PATH_MAX];
    server_script(script, sizeof script);
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "s3env: cannot read %s: %s\n", script, strerror(errno));
        return -1;
    }
    char min_part[32];
    snprintf(min_part, sizeof min_part, "%ld", o->min_part_size);
    const char *argv[32];
    int argc = 0;
    argv[argc++] = "node";
    argv[argc++] = script;
    argv[argc++] = "--access-key";
    argv[argc++] = e->access_key;
    argv[argc++] = "--secret-key";
    argv[argc++] = e->secret_key;
    argv[argc++] = "--region";
    argv[argc++] = e->region;
    if (e->session_token[0]) {
        argv[argc++] = "--session-token";
        argv[argc++] = e->session_token;
    }
    if (o->min_part_size > 0) {
        argv[argc++] = "--min-part-size";
        argv[argc++] = min_part;
    }
    if (o->faults_json) {
        argv[argc++] = "--faults";
        argv[argc++] = o->faults_json;
    }
    if (o->tls_cert && o->tls_key) {
        argv[argc++] = "--tls-cert";
        argv[argc++] = o->tls_cert;
        argv[argc++] = "--tls-key";
        argv[argc++] = o->tls_key;
    }
    argv[argc] = NULL;

    int in[2], out[2];
    if (pipe(in) != 0)
        return perror("s3env: pipe"), -1;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        return perror("s3env: pipe"), -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("s3env: fork");
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execvp("node", (char *const *)argv);
        fprintf(stderr, "s3env: cannot run node: %s\n", strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    /* Not inherited by the programs the tests run: only this process keeps
     * the server alive. */
    fcntl(in[1], F_SETFD, FD_CLOEXEC);
    fcntl(out[0], F_SETFD, FD_CLOEXEC);
    signal(SIGPIPE, SIG_IGN);
    e->pid = pid;
    e->stdin_fd = in[1];
    e->stdout_fd = out[0];
    e->running = true;

    /* The ready line: {"proxy": P, "s3": P, "dir": "..."} */
    char line[4096];
    size_t len = 0;
    int64_t deadline = util_monotonic_ms() + 30000;
    while (!memchr(line, '\n', len)) {
        int64_t left = deadline - util_monotonic_ms();
        if (left <= 0) {
            fprintf(stderr, "s3env: %s did not report ready within 30 s\n", script);
            s3env_stop(e);
            return -1;
        }
        struct pollfd p = {e->stdout_fd, POLLIN, 0};
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno != EINTR) {
            perror("s3env: poll");
            s3env_stop(e);
            return -1;
        }
        if (rc <= 0)
            continue;
        ssize_t n = read(e->stdout_fd, line + len, sizeof line - 1 - len);
        if (n <= 0) {
            fprintf(stderr, "s3env: %s exited before it was ready (see its messages above)\n",
                    script);
            s3env_stop(e);
            return -1;
        }
        len += (size_t)n;
        if (len >= sizeof line - 1)
            break;
    }
    line[len] = '\0';
    json_error_t jerr;
    json_t *ready = json_loads(line, JSON_DISABLE_EOF_CHECK, &jerr);
    json_int_t proxy = 0, s3 = 0;
    const char *dir = NULL;
    if (!ready ||
        json_unpack(ready, "{s:I, s:I, s:s}", "proxy", &proxy, "s3", &s3, "dir", &dir) != 0 ||
        proxy <= 0 || s3 <= 0) {
        fprintf(stderr, "s3env: unexpected ready line from %s: %s\n", script, line);
        json_decref(ready);
        s3env_stop(e);
        return -1;
    }
    e->proxy_port = (int)proxy;
    e->s3_port = (int)s3;
    copy(e->dir, sizeof e->dir, dir);
    json_decref(ready);
    copy(control_ca, sizeof control_ca, o->tls_ca);
    snprintf(e->endpoint, sizeof e->endpoint, "%s://127.0.0.1:%d",
             o->tls_cert && o->tls_key ? "https" : "http", e->proxy_port);
    snprintf(e->direct, sizeof e->direct, "http://127.0.0.1:%d", e->s3_port);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

void s3env_stop(struct s3env *e)
{
    if (!e->running)
        return;
    e->running = false;
    if (e->stdin_fd >= 0)
        close(e->stdin_fd); /* the server exits when its stdin closes */
    e->stdin_fd = -1;
    kill(e->pid, SIGTERM);
    int64_t deadline = util_monotonic_ms() + 5000;
    int status;
    for (;;) {
        pid_t r = waitpid(e->pid, &status, WNOHANG);
        if (r == e->pid || (r < 0 && errno != EINTR))
            break;
        if (util_monotonic_ms() > deadline) {
            fprintf(stderr, "s3env: server %d did not stop; killing it\n", (int)e->pid);
            kill(e->pid, SIGKILL);
            waitpid(e->pid, &status, 0);
            break;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (e->stdout_fd >= 0)
        close(e->stdout_fd);
    e->stdout_fd = -1;
}

char *const *s3env_env(struct s3env *e, char *const extra[])
{
    size_t used = 0, n = 0;
    const char *names[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                           "AWS_REGION"};
    const char *values[] = {e->access_key, e->secret_key, e->session_token, e->region};
    for (size_t i = 0; i < 4; i++) {
        int w =
            snprintf(e->env_text + used, sizeof e->env_text - used, "%s=%s", names[i], values[i]);
        if (w < 0 || (size_t)w >= sizeof e->env_text - used) {
            fprintf(stderr, "s3env: environment too long\n");
            abort();
        }
        e->envp[n++] = e->env_text + used;
        used += (size_t)w + 1;
    }
    for (size_t i = 0; extra && extra[i]; i++) {
        if (n + 1 >= S3ENV_ENV_MAX) {
            fprintf(stderr, "s3env: too many environment variables\n");
            abort();
        }
        e->envp[n++] = extra[i];
    }
    e->envp[n] = NULL;
    return e->envp;
}

/* ---------------------------------------------------------------- HTTP */

struct body {
    char *data;
    size_t len, cap;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
    struct body *b = ctx;
    size_t n = size * nmemb;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* One request; returns the HTTP status (0 on a transport error) and the body
 * in *out (NUL-terminated, caller frees) if out is not NULL. */
static long http_call(const char *method, const char *url, const void *data, size_t len,
                      struct body *out)
{
    CURL *c = curl_easy_init();
    if (!c)
        return 0;
    struct body b = {0};
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Expect:");
    h = curl_slist_append(h, "Content-Type: application/octet-stream");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (control_ca[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, control_ca);
    if (data || strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, data ? data : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    long status = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "s3env: %s %s: %s\n", method, url, curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (out)
        *out = b;
    else
        free(b.data);
    return status;
}

/* s3rver's URL of an object: every byte but unreserved ones escaped, '/' too
 * (s3rver's router decodes a key sent as one segment, and cannot match keys
 * with empty segments otherwise). */
static char *object_url(struct s3env *e, const char *bucket, const char *key)
{
    size_t cap = strlen(e->direct) + strlen(bucket) + 3 * strlen(key) + 8;
    char *url = mem_check(malloc(cap));
    size_t n = (size_t)snprintf(url, cap, "%s/%s/", e->direct, bucket);
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            url[n++] = (char)*p;
        else
            n += (size_t)snprintf(url + n, cap - n, "%%%02X", *p);
    }
    url[n] = '\0';
    return url;
}

int s3env_create_bucket(struct s3env *e, const char *bucket)
{
    char url[512];
    snprintf(url, sizeof url, "%s/%s", e->direct, bucket);
    long status = http_call("PUT", url, NULL, 0, NULL);
    if (status != 200 && status != 409) { /* 409: it exists already */
        fprintf(stderr, "s3env: creating bucket %s: HTTP %ld\n", bucket, status);
        return -1;
    }
    return 0;
}

int s3env_put(struct s3env *e, const char *bucket, const char *key, const void *data, size_t len)
{
    char *url = object_url(e, bucket, key);
    long status = http_call("PUT", url, data ? data : "", len, NULL);
    if (status != 200)
        fprintf(stderr, "s3env: PUT %s: HTTP %ld\n", url, status);
    free(url);
    return status == 200 ? 0 : -1;
}

char *s3env_get(struct s3env *e, const char *bucket, const char *key, size_t *len)
{
    char *url = object_url(e, bucket, key);
    struct body b = {0};
    long status = http_call("GET", url, NULL, 0, &b);
    free(url);
    if (status != 200) {
        free(b.data);
        return NULL;
    }
    if (!b.data) {
        b.data = mem_check(calloc(1, 1));
    }
    if (len)
        *len = b.len;
    return b.data;
}

/* Puts every file below dir; key_prefix is the key so far. Returns the count or -1. */
static int upload_dir(struct s3env *e, const char *bucket, const char *dir, const char *key_prefix)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "s3env: cannot open %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int count = 0;
    struct dirent *de;
    while (count >= 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        size_t plen = strlen(dir) + strlen(de->d_name) + 2;
        size_t klen = strlen(key_prefix) + strlen(de->d_name) + 2;
        char *path = mem_check(malloc(plen)), *key = mem_check(malloc(klen));
        snprintf(path, plen, "%s/%s", dir, de->d_name);
        snprintf(key, klen, "%s%s", key_prefix, de->d_name);
        struct stat st;
        if (lstat(path, &st) != 0) {
            count = -1;
        } else if (S_ISDIR(st.st_mode)) {
            snprintf(key, klen, "%s%s/", key_prefix, de->d_name);
            int n = upload_dir(e, bucket, path, key);
            count = n < 0 ? -1 : count + n;
        } else if (S_ISREG(st.st_mode)) {
            size_t len = 0;
            char *data = files_read(path, &len);
            if (!data || s3env_put(e, bucket, key, data, len) != 0)
                count = -1;
            else
                count++;
            free(data);
        }
        free(path);
        free(key);
    }
    closedir(d);
    return count;
}

int s3env_upload_tree(struct s3env *e, const char *root)
{
    DIR *d = opendir(root);
    if (!d) {
        fprintf(stderr, "s3env: cannot open %s: %s\n", root, strerror(errno));
        return -1;
    }
    int total = 0;
    struct dirent *de;
    while (total >= 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", root, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        int n = s3env_create_bucket(e, de->d_name) == 0 ? upload_dir(e, de->d_name, path, "") : -1;
        total = n < 0 ? -1 : total + n;
    }
    closedir(d);
    return total;
}

/* ---------------------------------------------------------------- control */

char *s3env_control(struct s3env *e, const char *method, const char *path, const char *body)
{
    char url[2048];
    snprintf(url, sizeof url, "%s%s", e->endpoint, path);
    struct body b = {0};
    long status = http_call(method, url, body, body ? strlen(body) : 0, &b);
    if (status != 200) {
        fprintf(stderr, "s3env: %s %s: HTTP %ld %s\n", method, path, status, b.data ? b.data : "");
        free(b.data);
        return NULL;
    }
    return b.data;
}

static int control_ok(struct s3env *e, const char *method, const char *path, const char *body)
{
    char *r = s3env_control(e, method, path, body);
    free(r);
    return r ? 0 : -1;
}

static char *url_escape(const char *s)
{
    CURL *c = curl_easy_init();
    char *esc = c ? curl_easy_escape(c, s, 0) : NULL;
    char *copy_ = esc ? strdup(esc) : NULL;
    curl_free(esc);
    if (c)
        curl_easy_cleanup(c);
    return mem_check(copy_);
}

int s3env_list(struct s3env *e, const char *bucket, const char *prefix, char ***keys)
{
    *keys = NULL;
    char *b = url_escape(bucket), *p = url_escape(prefix ? prefix : "");
    size_t cap = strlen(b) + strlen(p) + 64;
    char *path = mem_check(malloc(cap));
    snprintf(path, cap, "/__control/objects?bucket=%s&prefix=%s", b, p);
    free(b);
    free(p);
    char *text = s3env_control(e, "GET", path, NULL);
    free(path);
    json_t *list = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (!json_is_array(list)) {
        json_decref(list);
        return -1;
    }
    size_t n = json_array_size(list);
    char **out = mem_check(calloc(n + 1, sizeof *out));
    for (size_t i = 0; i < n; i++) {
        const char *k = json_string_value(json_object_get(json_array_get(list, i), "key"));
        out[i] = mem_check(strdup(k ? k : ""));
    }
    json_decref(list);
    *keys = out;
    return (int)n;
}

void s3env_free_keys(char **keys)
{
    for (size_t i = 0; keys && keys[i]; i++)
        free(keys[i]);
    free(keys);
}

int s3env_count_uploads(struct s3env *e, const char *prefix)
{
    char *text = s3env_control(e, "GET", "/__control/uploads", NULL);
    json_t *list = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (!json_is_array(list)) {
        json_decref(list);
        return -1;
    }
    int n = 0;
    size_t i;
    json_t *u;
    json_array_foreach(list, i, u)
    {
        const char *key = json_string_value(json_object_get(u, "key"));
        if (!prefix || !*prefix || (key && strncmp(key, prefix, strlen(prefix)) == 0))
            n++;
    }
    json_decref(list);
    return n;
}

int s3env_set_faults(struct s3env *e, const char *rules_json)
{
    return control_ok(e, "POST", "/__control/faults", rules_json);
}

int s3env_clear_faults(struct s3env *e)
{
    return control_ok(e, "DELETE", "/__control/faults", NULL);
}

int s3env_reset_stats(struct s3env *e)
{
    return control_ok(e, "POST", "/__control/reset", "");
}

int s3env_configure(struct s3env *e, const char *session_token, long min_part_size)
{
    json_t *body = mem_check(json_object());
    json_object_set_new(body, "session_token",
                        session_token && *session_token ? json_string(session_token) : json_null());
    if (min_part_size > 0)
        json_object_set_new(body, "min_part_size", json_integer(min_part_size));
    char *text = mem_check(json_dumps(body, JSON_COMPACT));
    json_decref(body);
    int rc = control_ok(e, "POST", "/__control/credentials", text);
    free(text);
    if (rc == 0)
        copy(e->session_token, sizeof e->session_token, session_token);
    return rc;
}

long s3env_stat(struct s3env *e, const char *path)
{
    char *text = s3env_control(e, "GET", "/__control/stats", NULL);
    json_t *root = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (!root)
        return -1;
    json_t *v = root;
    char name[256];
    for (const char *p = path; v && *p;) {
        size_t n = strcspn(p, ".");
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        v = json_object_get(v, name);
        p += n + (p[n] == '.');
    }
    long out = json_is_integer(v) ? (long)json_integer_value(v) : 0;
    json_decref(root);
    return out;
}
