/* lambda_floor: the smallest possible Lambda function, for the benchmark's
 * cold-start floor. A `provided` bootstrap that speaks the Runtime API over a
 * plain socket (GET .../invocation/next, POST .../response with "{}") and
 * does nothing else: whatever a first invocation of it costs under the
 * emulator (starting the process, the API round trips) no function can go
 * below. Linked statically like the package (bench/run.sh); the API's
 * address is the numeric host:port Lambda and the emulator give, so no
 * resolver is linked in.
 *
 *   AWS_LAMBDA_RUNTIME_API=host:port lambda_floor */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int connect_api(const char *api)
{
    char host[256];
    snprintf(host, sizeof host, "%s", api);
    char *colon = strrchr(host, ':');
    if (!colon)
        return -1;
    *colon = '\0';
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Sends a request and reads the whole response (Connection: close) into buf. */
static int request(const char *api, const char *req, char *buf, size_t cap)
{
    int fd = connect_api(api);
    if (fd < 0)
        return -1;
    size_t len = strlen(req), done = 0;
    while (done < len) {
        ssize_t n = write(fd, req + done, len - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    size_t got = 0;
    for (ssize_t n; got + 1 < cap && (n = read(fd, buf + got, cap - 1 - got)) > 0;)
        got += (size_t)n;
    buf[got] = '\0';
    close(fd);
    return 0;
}

int main(void)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api)
        return 2;
    static char buf[1 << 20];
    char req[1024];
    for (;;) {
        snprintf(req, sizeof req,
                 "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n"
                 "Connection: close\r\n\r\n",
                 api);
        if (request(api, req, buf, sizeof buf) != 0)
            return 1;
        char id[128] = "";
        for (char *line = buf; line && *line; line = strstr(line, "\r\n"), line += line ? 2 : 0)
            if (strncasecmp(line, "Lambda-Runtime-Aws-Request-Id:", 30) == 0)
                sscanf(line + 30, " %127[^\r\n]", id);
        snprintf(req, sizeof req,
                 "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\n"
                 "Content-Type: application/json\r\nContent-Length: 2\r\n"
                 "Connection: close\r\n\r\n{}",
                 id, api);
        if (request(api, req, buf, sizeof buf) != 0)
            return 1;
    }
}
