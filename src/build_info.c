#include "build_info.h"

#include <gnu/libc-version.h>
#include <openssl/crypto.h>

#include "http.h"
#include "version.h"

void build_info_print(FILE *out)
{
    const char *curl, *ares;
    http_libcurl_version(&curl, &ares);
    fprintf(out, "backend-checks-results %s\n", BCR_VERSION);
    fprintf(out, "openssl %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
    fprintf(out, "curl %s\n", curl);
    /* c-ares's own ares_version(), called by libcurl when it is its resolver. */
    if (ares)
        fprintf(out, "c-ares %s\n", ares);
    fprintf(out, "glibc %s\n", gnu_get_libc_version());
#if defined(__GNUC__) && !defined(__clang__)
    /* libgcc comes with the compiler that built the program. */
    fprintf(out, "libgcc %d.%d.%d\n", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#endif
}
