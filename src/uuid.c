#include "uuid.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "textw.h"

int uuid_v4(char out[37], struct error *err)
{
    uint8_t b[16];
    ssize_t n;
    do
        n = getrandom(b, sizeof b, 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof b)
        return error_set(err, ERR_IO, "getrandom: %s", n < 0 ? strerror(errno) : "short read");
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = textw_hex_lower[b[i] >> 4];
        *p++ = textw_hex_lower[b[i] & 15];
    }
    *p = '\0';
    return 0;
}
