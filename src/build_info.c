#include "build_info.h"

#include <curl/curl.h>
#include <gnu/libc-version.h>
#include <openssl/crypto.h>

#include "version.h"

void build_info_print(FILE *out)
{
    const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
    fprintf(out, "backend-checks-results %s\n", BCR_VERSION);
    fprintf(out, "openssl %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
    fprintf(out, "curl %s\n", curl->version);
    /* c-ares's own ares_version(), called by libcurl when it is its resolver. */
    if (curl->ares)
        fprintf(out, "c-ares %s\n", curl->ares);
    fprintf(out, "glibc %s\n", gnu_get_libc_version());
#if defined(__GNUC__) && !defined(__clang__)
    /* libgcc comes with the compiler that built the program. */
    fprintf(out, "libgcc %d.%d.%d\n", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#endif
}
