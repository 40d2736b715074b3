#define _POSIX_C_SOURCE 200809L
#include "proc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mem.h"
#include "util.h"

const char *proc_bin(void)
{
    const char *bin = getenv("BCR_BIN");
    return bin && *bin ? bin : "build/backend-checks-results";
}

static void run_core(char *const argv[], const char *input, char *const env[], int timeout_s,
                     const struct proc_signal *sig, struct proc_result *res)
{
    int in[2], out[2], err[2];
    if (pipe(in) || pipe(out) || pipe(err))
        mem_fail("pipe");
    pid_t pid = fork();
    if (pid < 0)
        mem_fail("fork");
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
    struct mem_buf o = {0}, e = {0};
    mem_buf_append(&o, "", 0);
    mem_buf_append(&e, "", 0);
    size_t in_len = input ? strlen(input) : 0, in_done = 0;
    if (in_len == 0) {
        close(in[1]);
        in[1] = -1;
    }
    int64_t deadline = util_monotonic_ms() + (int64_t)timeout_s * 1000;
    bool killed = false, signalled = false;
    while (out[0] >= 0 || err[0] >= 0) {
        if (sig && !signalled && sig->ready(sig->ctx)) {
            kill(pid, sig->signo);
            signalled = true;
        }
        struct pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
        int64_t left = deadline - util_monotonic_ms();
        if (left <= 0) {
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
        int64_t most = sig && !signalled ? 20 : 1000;
        if (poll(fds, 3, (int)(left > most ? most : left)) < 0 && errno != EINTR)
            mem_fail("poll");
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
                mem_buf_append(i == 0 ? &o : &e, chunk, (size_t)n);
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
            mem_fail("waitpid");
    res->status = killed              ? 128 + SIGKILL
                  : WIFEXITED(status) ? WEXITSTATUS(status)
                                      : 128 + WTERMSIG(status);
    res->out = o.data;
    res->out_len = o.len;
    res->err = e.data;
    res->err_len = e.len;
}

void proc_run(char *const argv[], const char *input, char *const env[], int timeout_s,
              struct proc_result *res)
{
    run_core(argv, input, env, timeout_s, NULL, res);
}

void proc_run_signal(char *const argv[], char *const env[], int timeout_s,
                     const struct proc_signal *sig, struct proc_result *res)
{
    run_core(argv, NULL, env, timeout_s, sig, res);
}

void proc_result_free(struct proc_result *res)
{
    free(res->out);
    free(res->err);
    memset(res, 0, sizeof *res);
}

bool proc_run_ok(char *const argv[], int timeout_s, const char *who)
{
    struct proc_result res;
    proc_run(argv, NULL, NULL, timeout_s, &res);
    bool ok = res.status == 0;
    if (!ok)
        fprintf(stderr, "%s: %s %s failed (exit %d): %s\n", who, argv[0], argv[1] ? argv[1] : "",
                res.status, res.err);
    proc_result_free(&res);
    return ok;
}

void proc_last_line(const char *text, char *out, size_t cap)
{
    size_t len = strlen(text);
    while (len > 0 && text[len - 1] == '\n')
        len--;
    size_t start = len;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    snprintf(out, cap, "%.*s", (int)(len - start), text + start);
}
