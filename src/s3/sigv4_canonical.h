/* s3/sigv4_canonical: what the signer (sigv4.c) needs from the canonical
 * request builder (sigv4_canonical.c), and nothing else includes. The public
 * functions of both are in sigv4.h.
 *
 * A request is validated once, then its query parameters (encoded) and
 * headers (lowercased, with the signer's own) are sorted into a
 * sigv4_prepared, from which the canonical request and the SignedHeaders list
 * are written. */
#ifndef BCR_SIGV4_CANONICAL_H
#define BCR_SIGV4_CANONICAL_H

#include <stdbool.h>
#include <stddef.h>

#include "s3/sigv4.h"
#include "error.h"
#include "textw.h"

/* Bound on each scope part (region, service, access key id), so the string to
 * sign has a fixed size. */
enum { SCOPE_PART_MAX = 128 };

struct sigv4_enc_param; /* an encoded name and value */
struct sigv4_hdr;       /* a lowercased name and its raw value */

/* The query and headers of one request, encoded and sorted. Owns its items. */
struct sigv4_prepared {
    struct sigv4_query {
        struct sigv4_enc_param *items;
        size_t n;
    } query;
    struct sigv4_headers {
        struct sigv4_hdr *items;
        size_t n;
    } headers;
};

/* Whether s is a scope part: 1-SCOPE_PART_MAX letters, digits, '-' or '_'. */
bool sigv4_scope_part_ok(const char *s);

/* Checks everything the canonical request is built from (not the
 * credentials' keys, which the signer checks). Returns 0, or -1 with err set
 * (ERR_CONFIG); messages name the field, never a credential. err may be NULL. */
int sigv4_validate_request(const struct sigv4_request *req, const struct sigv4_context *ctx,
                           struct error *err);

/* Validates req, ctx and amz_date and fills pr. Returns 0 (free pr with
 * sigv4_prepared_free), or -1 with err set (ERR_CONFIG, ERR_OUT_OF_MEMORY)
 * and pr holding nothing. err may be NULL. */
int sigv4_prepare(const struct sigv4_request *req, const struct sigv4_context *ctx,
                  const char *amz_date, struct sigv4_prepared *pr, struct error *err);
void sigv4_prepared_free(struct sigv4_prepared *pr);

/* The canonical request for pr in a fresh heap string (caller frees), its
 * length in *len; NULL with err set (ERR_CONFIG: over INT_MAX bytes;
 * ERR_OUT_OF_MEMORY). */
char *sigv4_canonical_request_alloc(const struct sigv4_request *req,
                                    const struct sigv4_prepared *pr, size_t *len,
                                    struct error *err);

/* Writes the SignedHeaders list: the names, each once, joined with ';'. */
void sigv4_write_signed_headers(struct textw *w, const struct sigv4_headers *h);

#endif
