#include "s3/credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "interrupt.h"
#include "json.h"
#include "utf8.h"
#include "util.h"

static void free_secret(char **s)
{
    if (*s) {
        OPENSSL_cleanse(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

void credentials_clear(struct aws_credentials *c)
{
    if (!c)
        return;
    free_secret(&c->access_key_id);
    free_secret(&c->secret_access_key);
    free_secret(&c->session_token);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Copies the three values into out; NULL token means none. On failure out is
 * left cleared. */
static int set_all(struct aws_credentials *out, const char *id, size_t id_len, const char *secret,
                   size_t secret_len, const char *token, size_t token_len, struct error *err)
{
    out->access_key_id = dup_n(id, id_len);
    out->secret_access_key = dup_n(secret, secret_len);
    out->session_token = token ? dup_n(token, token_len) : NULL;
    if (!out->access_key_id || !out->secret_access_key || (token && !out->session_token)) {
        credentials_clear(out);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory copying AWS credentials");
    }
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

struct span {
    const char *p;
    size_t n;
};

static struct span trim(const char *p, const char *end)
{
    while (p < end && is_space(*p))
        p++;
    while (end > p && is_space(end[-1]))
        end--;
    return (struct span){p, (size_t)(end - p)};
}

static bool span_eq(struct span s, const char *lit)
{
    return strlen(lit) == s.n && memcmp(s.p, lit, s.n) == 0;
}

static bool span_eq_nocase(struct span s, const char *lit)
{
    if (strlen(lit) != s.n)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return false;
    }
    return true;
}

/* The values found in the profile's section(s); spans point into the file text. */
struct profile_values {
    bool found;
    struct span id, secret, token, region, process;
    bool has_id, has_secret, has_token, has_region, has_process;
};

/* True if the text between a section's brackets names the profile: "NAME" in
 * the credentials file; "profile NAME" in the config file, where the default
 * profile is also plain "default". */
static bool section_names(struct span name, const char *profile, bool config)
{
    if (!config || (strcmp(profile, "default") == 0 && span_eq(name, "default")))
        return span_eq(name, profile);
    if (name.n < 8 || memcmp(name.p, "profile", 7) != 0 || !is_space(name.p[7]))
        return false;
    return span_eq(trim(name.p + 8, name.p + name.n), profile);
}

/* Sets *value to v, and *has to whether it is non-empty. */
static void set_value(struct span *value, bool *has, struct span v)
{
    *value = v;
    *has = v.n > 0;
}

/* Parses INI text as botocore's file reader does, for one profile: "[name]"
 * opens a section, "key = value" (or ':') sets a key, blank lines and lines
 * starting with '#' or ';' are skipped. A later assignment wins. */
static void scan_profile(const char *text, size_t len, const char *profile, bool config,
                         struct profile_values *v)
{
    const char *p = text, *end = text + len;
    bool in_profile = false;
    memset(v, 0, sizeof *v);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        struct span line = trim(p, eol);
        p = eol < end ? eol + 1 : end;
        if (line.n == 0 || line.p[0] == '#' || line.p[0] == ';')
            continue;
        if (line.p[0] == '[') {
            const char *close = line.p + line.n - 1;
            in_profile = *close == ']' && line.n >= 2 &&
                         section_names(trim(line.p + 1, close), profile, config);
            v->found = v->found || in_profile;
            continue;
        }
        if (!in_profile)
            continue;
        size_t k = 0;
        while (k < line.n && line.p[k] != '=' && line.p[k] != ':')
            k++;
        if (k == line.n)
            continue;
        struct span key = trim(line.p, line.p + k);
        struct span value = trim(line.p + k + 1, line.p + line.n);
        if (span_eq_nocase(key, "aws_access_key_id"))
            set_value(&v->id, &v->has_id, value);
        else if (span_eq_nocase(key, "aws_secret_access_key"))
            set_value(&v->secret, &v->has_secret, value);
        else if (span_eq_nocase(key, "aws_session_token"))
            set_value(&v->token, &v->has_token, value);
        else if (span_eq_nocase(key, "region"))
            set_value(&v->region, &v->has_region, value);
        else if (span_eq_nocase(key, "credential_process"))
            set_value(&v->process, &v->has_process, value);
    }
}

/* One of the AWS CLI's files, read whole (at most CREDENTIALS_FILE_MAX bytes). */
struct aws_file {
    char *path; /* heap, or NULL when no path could be made (why: in `absent`) */
    char *text; /* heap, wiped on free; NULL when the file is absent */
    size_t len;
    char absent[160]; /* why there is no text, for messages: "cannot be read (...)" */
};

static void aws_file_free(struct aws_file *f)
{
    if (f->text) {
        OPENSSL_cleanse(f->text, f->len);
        free(f->text);
    }
    free(f->path);
    memset(f, 0, sizeof *f);
}

/* One of the two AWS files: the variable naming it, its value in the
 * environment (NULL: unset), and its place under $HOME by default. */
struct aws_file_name {
    const char *var, *set, *home_rest;
};

static struct aws_file_name credentials_file(const struct aws_env *env)
{
    return (struct aws_file_name){"AWS_SHARED_CREDENTIALS_FILE", env->shared_credentials_file,
                                  "/.aws/credentials"};
}

static struct aws_file_name config_file(const struct aws_env *env)
{
    return (struct aws_file_name){"AWS_CONFIG_FILE", env->config_file, "/.aws/config"};
}

/* The path the variable gives (a leading "~/" meaning home), else
 * home/`home_rest`, in a heap string; NULL (with the reason in f->absent)
 * when neither is set. */
static char *aws_file_path(struct aws_file_name name, const char *home, struct aws_file *f,
                           struct error *err)
{
    const char *var = name.var, *set = name.set, *home_rest = name.home_rest;
    const char *prefix = "", *rest = set;
    if (set && set[0] == '~' && (set[1] == '/' || set[1] == '\0')) {
        prefix = home;
        rest = set + 1;
    } else if (!set) {
        prefix = home;
        rest = home_rest;
    }
    if (!prefix) {
        snprintf(f->absent, sizeof f->absent,
                 set ? "(%s starts with ~ but HOME is not set)"
                     : "(neither %s nor HOME is set to find it)",
                 var);
        return NULL;
    }
    size_t a = strlen(prefix), b = strlen(rest);
    char *path = malloc(a + b + 1);
    if (!path) {
        error_set(err, ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    memcpy(path, prefix, a);
    memcpy(path + a, rest, b + 1);
    return path;
}

/* Reads the file named by its variable (default ~/home_rest). A file that is
 * not there (or has no path) is not an error: f->text stays NULL and f->absent
 * says why. One that exists but cannot be read whole, or is too big, is. */
static int aws_file_load(struct aws_file_name name, const char *home, struct aws_file *f,
                         struct error *err)
{
    memset(f, 0, sizeof *f);
    f->path = aws_file_path(name, home, f, err);
    if (!f->path)
        return f->absent[0] ? 0 : -1;
    /* Non-blocking, so that a FIFO is refused rather than waited on for ever. */
    int fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            snprintf(f->absent, sizeof f->absent, "cannot be read (%s)", strerror(errno));
            return 0;
        }
        return error_set(err, ERR_CONFIG, "the AWS file %s cannot be read (%s)", f->path,
                         strerror(errno));
    }
    struct stat st = {0};
    FILE *fp = NULL;
    if (fstat(fd, &st) != 0 || S_ISFIFO(st.st_mode) || !(fp = fdopen(fd, "rb"))) {
        close(fd);
        return error_set(err, ERR_CONFIG, "the AWS file %s cannot be read (%s)", f->path,
                         S_ISFIFO(st.st_mode) ? "it is a FIFO" : strerror(errno));
    }
    char *buf = malloc(CREDENTIALS_FILE_MAX + 1);
    if (!buf) {
        fclose(fp);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory reading %s", f->path);
    }
    size_t n = fread(buf, 1, CREDENTIALS_FILE_MAX + 1, fp);
    bool failed = ferror(fp) != 0;
    fclose(fp);
    /* A NUL byte would end a value there, silently. */
    bool nul = !failed && n <= CREDENTIALS_FILE_MAX && memchr(buf, '\0', n);
    if (failed || n > CREDENTIALS_FILE_MAX || nul) {
        OPENSSL_cleanse(buf, n);
        free(buf);
        if (failed)
            return error_set(err, ERR_CONFIG, "error reading the AWS file %s", f->path);
        if (nul)
            return error_set(err, ERR_CONFIG, "the AWS file %s holds a NUL byte", f->path);
        return error_set(err, ERR_CONFIG, "the AWS file %s is over %d bytes", f->path,
                         CREDENTIALS_FILE_MAX);
    }
    f->text = buf;
    f->len = n;
    return 0;
}

static const char *profile_name(const struct aws_env *env)
{
    return env->profile ? env->profile : "default";
}

/* Static keys of a profile section that has at least one of the pair. */
static int from_values(struct aws_credentials *out, const struct profile_values *v,
                       const char *profile, const char *path, struct error *err)
{
    if (!v->has_id || !v->has_secret)
        return error_set(err, ERR_CONFIG,
                         "incomplete AWS credentials: profile [%s] in %s has no %s", profile, path,
                         !v->has_id ? "aws_access_key_id" : "aws_secret_access_key");
    return set_all(out, v->id.p, v->id.n, v->secret.p, v->secret.n,
                   v->has_token ? v->token.p : NULL, v->token.n, err);
}

/* What a file said about the profile, for the message when nothing was found. */
static void describe(const struct aws_file *f, const struct profile_values *v, const char *profile,
                     char *out, size_t cap)
{
    if (!f->text)
        snprintf(out, cap, "%s %s", f->path ? f->path : "", f->absent);
    else if (!v->found)
        snprintf(out, cap, "%s has no profile [%s]", f->path, profile);
    else
        snprintf(out, cap, "%s has no credentials in profile [%s]", f->path, profile);
}

/* The profile's credentials, in the AWS CLI's order: static keys in the
 * credentials file, then credential_process, then static keys in the config
 * file. */
static int load_profile(const struct aws_env *env, struct aws_credentials *out, struct error *err)
{
    const char *profile = profile_name(env);
    struct aws_file creds, config;
    struct profile_values cv = {0}, fv = {0};
    int rc = -1;
    if (aws_file_load(credentials_file(env), env->home, &creds, err) != 0) {
        aws_file_free(&creds);
        return -1;
    }
    if (aws_file_load(config_file(env), env->home, &config, err) != 0)
        goto done;
    if (creds.text)
        scan_profile(creds.text, creds.len, profile, false, &cv);
    if (config.text)
        scan_profile(config.text, config.len, profile, true, &fv);

    if (cv.has_id || cv.has_secret) {
        rc = from_values(out, &cv, profile, creds.path, err);
    } else if (cv.has_process || fv.has_process) {
        const struct profile_values *pv = cv.has_process ? &cv : &fv;
        char *command = dup_n(pv->process.p, pv->process.n);
        if (!command) {
            error_set(err, ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        rc = credentials_from_process(command, profile, CREDENTIAL_PROCESS_TIMEOUT_MS, out, err);
        free(command);
    } else if (fv.has_id || fv.has_secret) {
        rc = from_values(out, &fv, profile, config.path, err);
    } else {
        char a[1200], b[1200];
        describe(&creds, &cv, profile, a, sizeof a);
        describe(&config, &fv, profile, b, sizeof b);
        error_set(err, ERR_CONFIG,
                  "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, "
                  "the shared credentials file %s, and the config file %s",
                  a, b);
    }
done:
    aws_file_free(&creds);
    aws_file_free(&config);
    return rc;
}

int credentials_profile_region(const struct aws_env *env, char *out, size_t cap, struct error *err)
{
    out[0] = '\0';
    struct aws_file config;
    if (aws_file_load(config_file(env), env->home, &config, err) != 0) {
        aws_file_free(&config);
        return -1;
    }
    int rc = 0;
    struct profile_values v;
    if (config.text) {
        scan_profile(config.text, config.len, profile_name(env), true, &v);
        if (v.has_region && v.region.n >= cap)
            rc = error_set(err, ERR_CONFIG, "the region of profile [%s] in %s is too long",
                           profile_name(env), config.path);
        else if (v.has_region)
            snprintf(out, cap, "%.*s", (int)v.region.n, v.region.p);
    }
    aws_file_free(&config);
    return rc;
}

int credentials_load(const struct aws_env *env, struct aws_credentials *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    const char *id = env->access_key_id;
    const char *secret = env->secret_access_key;
    if (id && secret) {
        const char *token = env->session_token;
        return set_all(out, id, strlen(id), secret, strlen(secret), token,
                       token ? strlen(token) : 0, err);
    }
    /* Half a pair is a broken environment: falling back to a file would sign
     * with a different identity than the one configured. */
    if (id || secret)
        return error_set(err, ERR_CONFIG,
                         "incomplete AWS credentials in the environment: %s is set but %s is not",
                         id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                         id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    return load_profile(env, out, err);
}

/* Kills the process group the child leads and reaps the child. */
static void kill_and_reap(pid_t pid)
{
    kill(-pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* How often a wait for the process looks for SIGTERM or SIGINT, at most. */
enum { SIGNAL_CHECK_MS = 100 };
static const char STOPPED[] = "was stopped by a signal";

/* Starts command under /bin/sh in a process group of its own, stdin from
 * /dev/null, stdout into a pipe whose read end is *out_fd, stderr inherited
 * (where the AWS CLI says "run aws sso login"). Returns its pid, or -1 with
 * err set. */
static pid_t start_process(const char *command, const char *profile, int *out_fd, struct error *err)
{
    int fds[2];
    if (pipe(fds) != 0)
        return error_set(err, ERR_CONFIG, "credential_process of profile [%s] cannot start: %s",
                         profile, strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return error_set(err, ERR_CONFIG, "credential_process of profile [%s] cannot start: %s",
                         profile, strerror(errno));
    }
    if (pid == 0) {
        /* Its own process group, so a timeout ends everything it started. */
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL); /* the command line may ignore it */
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(fds[1], STDOUT_FILENO) < 0)
            _exit(127);
        close(fds[0]);
        close(fds[1]);
        close(null);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    *out_fd = fds[0];
    return pid;
}

/* Reads fd into buf (at most cap bytes, *len of them) until its end. Returns
 * NULL, or why the process must be ended: STOPPED (SIGTERM or SIGINT), the
 * deadline passed, or more output than cap. */
static const char *read_output(int fd, int64_t deadline, char *buf, size_t cap, size_t *len)
{
    *len = 0;
    for (;;) {
        int64_t left = deadline - util_monotonic_ms();
        if (interrupt_signal())
            return STOPPED;
        if (left <= 0)
            return "did not finish in time";
        /* In slices: a signal that comes just before poll is noticed soon. */
        struct pollfd p = {fd, POLLIN, 0};
        int ready = poll(&p, 1, left < SIGNAL_CHECK_MS ? (int)left : SIGNAL_CHECK_MS);
        if (ready <= 0)
            continue; /* EINTR, or nothing yet: the checks above end it */
        if (*len == cap)
            return "printed more than the credentials document allows";
        ssize_t n = read(fd, buf + *len, cap - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL; /* end of output (or an error, which the exit status will tell) */
        *len += (size_t)n;
    }
}

/* Waits for the process to exit, into *status. Returns NULL, or why it must
 * be ended, as read_output. */
static const char *wait_exit(pid_t pid, int64_t deadline, int *status)
{
    for (;;) {
        pid_t done = waitpid(pid, status, WNOHANG);
        if (done == pid)
            return NULL;
        if (done < 0 && errno != EINTR)
            return "could not be waited for";
        if (interrupt_signal())
            return STOPPED;
        if (util_monotonic_ms() >= deadline)
            return "did not finish in time";
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

/* Runs command (start_process) with its stdout into buf (at most cap bytes).
 * Returns the exit status (0..255), or -1 with err set: cannot start, killed
 * by a signal, output over cap, or not done by the deadline (then its process
 * group is killed); SIGTERM or SIGINT to this process ends the wait at once,
 * kills the process group too, and is an Interrupted error. */
static int run_process(const char *command, const char *profile, int timeout_ms, char *buf,
                       size_t cap, size_t *len, struct error *err)
{
    int fd = -1;
    pid_t pid = start_process(command, profile, &fd, err);
    if (pid < 0)
        return -1;
    int64_t deadline = util_monotonic_ms() + timeout_ms;
    const char *failure = read_output(fd, deadline, buf, cap, len);
    close(fd);
    int status = 0;
    if (!failure)
        failure = wait_exit(pid, deadline, &status);
    if (failure) {
        kill_and_reap(pid);
        if (failure == STOPPED)
            return interrupt_check(err);
        return error_set(err, ERR_CONFIG, "credential_process of profile [%s] %s", profile,
                         failure);
    }
    if (!WIFEXITED(status))
        return error_set(err, ERR_CONFIG,
                         "credential_process of profile [%s] was killed by signal %d", profile,
                         WTERMSIG(status));
    return WEXITSTATUS(status);
}

/* True if an Expiration ("2030-01-01T00:00:00Z", optional fraction, "Z" or
 * "+HH:MM"/"-HH:MM") is a time still to come. */
static bool expires_later(const char *text)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n == 0)
        return false;
    const char *p = text + n;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m == 0)
            return false;
        offset = (*p == '-' ? -1L : 1L) * (oh * 3600L + om * 60L);
        p += 1 + m;
    }
    if (*p != '\0')
        return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    return (int64_t)timegm(&tm) - offset > util_wall_ms() / 1000;
}

/* The members of a credential_process document, in the order of DOC_NAMES. */
enum { DOC_VERSION, DOC_ID, DOC_SECRET, DOC_TOKEN, DOC_EXPIRATION, DOC_MEMBERS };
static const char *const DOC_NAMES[DOC_MEMBERS] = {"Version", "AccessKeyId", "SecretAccessKey",
                                                   "SessionToken", "Expiration"};

/* Finds the members of DOC_NAMES in the document doc[0, len), read as
 * botocore's json.loads reads it (of several members of one name the last
 * counts): found[i] at the value of member i (pos NULL: none), strings[i] at
 * its text, decoded and NUL-terminated in text, when it is a string (else
 * NULL). Returns 0, or -1 when doc is not one JSON object or a string it holds
 * has U+0000 or a lone surrogate; err is left alone, as the scanner's messages
 * may quote the document. */
static int read_document(const char *doc, size_t len, struct buf *name, struct buf *text,
                         struct json_src *found, const char **strings)
{
    struct error ignored = {0};
    struct json_src root;
    json_src_memory(&root, doc, len);
    if (json_check_document(doc, len, ERR_CONFIG, &ignored) != 0 ||
        json_peek(&root, &ignored) != '{' ||
        json_object_find(&root, DOC_NAMES, DOC_MEMBERS, found, name, ERR_CONFIG, &ignored) != 0)
        return -1;
    size_t at[DOC_MEMBERS];
    for (int i = 0; i < DOC_MEMBERS; i++) {
        at[i] = SIZE_MAX;
        if (!found[i].pos || *found[i].pos != '"')
            continue;
        at[i] = text->len;
        struct json_src s = found[i];
        if (json_decode_string(&s, text, NULL, ERR_CONFIG, &ignored) != 0 ||
            utf8_first_unusable(text->data + at[i], text->len - at[i]) != text->len - at[i] ||
            buf_append(text, "", 1, &ignored) != BUF_OK)
            return -1;
    }
    for (int i = 0; i < DOC_MEMBERS; i++)
        strings[i] = at[i] == SIZE_MAX ? NULL : (const char *)text->data + at[i];
    return 0;
}

/* Whether the value at v is the integer 1, as written (not 1.0 nor 1e0). */
static bool is_one(const struct json_src *v)
{
    struct error ignored = {0};
    struct json_src s = *v;
    return v->pos && *v->pos == '1' && json_skip_value(&s, ERR_CONFIG, &ignored) == 0 &&
           s.pos - v->pos == 1;
}

/* The credentials in the document doc[0, len) into *out, its strings decoded
 * into text (room for them all). Never quotes the document (it may hold
 * secrets) but its Expiration. */
static int use_document(const char *doc, size_t len, const char *profile, struct buf *name,
                        struct buf *text, struct aws_credentials *out, struct error *err)
{
    struct json_src found[DOC_MEMBERS];
    const char *s[DOC_MEMBERS];
    /* A string member counts only when not empty; SessionToken may be null. */
    if (read_document(doc, len, name, text, found, s) != 0 || !is_one(&found[DOC_VERSION]) ||
        !s[DOC_ID] || !*s[DOC_ID] || !s[DOC_SECRET] || !*s[DOC_SECRET] ||
        (found[DOC_TOKEN].pos && !s[DOC_TOKEN] && *found[DOC_TOKEN].pos != 'n'))
        return error_set(err, ERR_CONFIG,
                         "credential_process of profile [%s] did not print a credentials "
                         "document (JSON with \"Version\": 1, \"AccessKeyId\" and "
                         "\"SecretAccessKey\")",
                         profile);
    if (s[DOC_EXPIRATION] && *s[DOC_EXPIRATION] && !expires_later(s[DOC_EXPIRATION]))
        return error_set(err, ERR_CONFIG,
                         "credential_process of profile [%s] printed credentials that have "
                         "expired (or an Expiration that is not an ISO 8601 time): %.40s",
                         profile, s[DOC_EXPIRATION]);
    const char *token = s[DOC_TOKEN] && *s[DOC_TOKEN] ? s[DOC_TOKEN] : NULL;
    return set_all(out, s[DOC_ID], strlen(s[DOC_ID]), s[DOC_SECRET], strlen(s[DOC_SECRET]), token,
                   token ? strlen(token) : 0, err);
}

/* use_document with buffers that are wiped before they are freed. */
static int parse_document(const char *doc, size_t len, const char *profile,
                          struct aws_credentials *out, struct error *err)
{
    enum { NAME_MAX_BYTES = 32 }; /* longer member names are none of ours */
    struct buf name, text;
    buf_init(&name, NAME_MAX_BYTES);
    buf_init(&text, len + DOC_MEMBERS);
    /* Reserved whole at once (each string is shorter than its text, quotes
     * included), so that no reallocation leaves a copy of a secret behind. */
    int rc = buf_reserve(&text, len + DOC_MEMBERS, err) == BUF_OK
                 ? use_document(doc, len, profile, &name, &text, out, err)
                 : -1;
    if (name.data)
        OPENSSL_cleanse(name.data, name.cap);
    if (text.data)
        OPENSSL_cleanse(text.data, text.cap);
    buf_free(&name);
    buf_free(&text);
    return rc;
}

int credentials_from_process(const char *command, const char *profile, int timeout_ms,
                             struct aws_credentials *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    char *buf = malloc(CREDENTIAL_PROCESS_OUTPUT_MAX);
    if (!buf)
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory for credential_process output");
    size_t len = 0;
    int status =
        run_process(command, profile, timeout_ms, buf, CREDENTIAL_PROCESS_OUTPUT_MAX, &len, err);
    int rc = -1;
    if (status > 0) {
        error_set(err, ERR_CONFIG, "credential_process of profile [%s] exited with status %d%s",
                  profile, status, status == 127 ? " (command not found?)" : "");
    } else if (status == 0) {
        rc = parse_document(buf, len, profile, out, err);
    }
    OPENSSL_cleanse(buf, CREDENTIAL_PROCESS_OUTPUT_MAX);
    free(buf);
    return rc;
}
