/* s3/error_doc: S3's XML documents (error bodies, and the few values the store
 * reads from success bodies) and botocore-style error messages.
 *
 * The XML reader is deliberately tiny and tolerant: it finds elements by local
 * name (namespace prefixes ignored), decodes the predefined and numeric
 * entities and CDATA, and never allocates. A value whose closing tag is
 * missing (truncated body) is treated as absent rather than guessed. */
#ifndef BCR_S3_ERROR_H
#define BCR_S3_ERROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "s3/operation.h"

enum { S3_ERROR_CODE_MAX = 64, S3_ERROR_MESSAGE_MAX = 512 };

struct s3_error_doc {
    char code[S3_ERROR_CODE_MAX];       /* "" if the document has none */
    char message[S3_ERROR_MESSAGE_MAX]; /* "" if none; truncated at a UTF-8 boundary */
};

/* Copies into out (cap bytes, NUL-terminated) the local name of the document's
 * root element, skipping the XML declaration, comments and leading blanks.
 * Returns true if there is one. */
bool s3_xml_root(const char *doc, size_t len, char *out, size_t cap);

/* Finds the first element whose local name is `name` anywhere in doc and
 * copies its decoded text (truncated to fit cap, at a UTF-8 boundary). Returns
 * true if found with its closing tag; an element holding child elements counts
 * as not found. */
bool s3_xml_find_text(const char *doc, size_t len, const char *name, char *out, size_t cap);

/* Parses an S3 error document (<Error><Code>..</Code><Message>..</Message>).
 * Returns true if the root element is Error and it has a non-empty Code;
 * otherwise (HTML from a proxy, garbage, truncated) false, with out's fields
 * holding whatever was found. The code keeps only [A-Za-z0-9.] (it becomes
 * an errorType). A Message the document ends in (a body cut at the store's
 * limit) is kept, with "..." after it. */
bool s3_error_parse(const char *doc, size_t len, struct s3_error_doc *out);

/* The code botocore-style clients give a response with no error document,
 * from its status: 404 is the operation's not_found (s3/operation.h:
 * NoSuchKey for GetObject, NotFound otherwise), 403
 * AccessDenied, 503 SlowDown, 301/308 PermanentRedirect, 302/303/307
 * TemporaryRedirect, ...; an unknown status gives its number ("418").
 * Writes into out (cap >= 8). */
void s3_error_code_for_status(long status, enum s3_op op, char *out, size_t cap);

/* Sets err to type `type` and botocore's ClientError text, byte for byte:
 *   "An error occurred (CODE) when calling the OPERATION operation: MESSAGE"
 * with " (reached max retries: N)" after "operation" when retries >= 0 (the
 * request's last attempt failed: N retries, as botocore's standard retries
 * word it), and MESSAGE "Unknown" when message is NULL or empty. The type is
 * S3's code, or the code an S3 client gives a status (s3_error_code_for_status)
 * where the server sent none. Where is left to s3_error_where. Returns -1. */
int s3_error_set(struct error *err, const char *type, const char *code, const char *operation,
                 const char *message, int retries);

/* Sets err's where: "OPERATION s3://BUCKET/KEY", " at byte offset N" once a
 * read has passed the start (offset > 0), and " (NOTE)" for a note that is
 * not NULL or empty (where a redirect pointed, the bucket's region). */
void s3_error_where(struct error *err, const char *operation, const char *bucket, const char *key,
                    int64_t offset, const char *note);

/* Replaces in text (NUL-terminated, edited in place, never longer) every
 * occurrence of each of the count secrets (NULL and strings under 8 bytes are
 * skipped) with "[hidden]", as well as a secret's first bytes (8 or more)
 * at the very end of text, where a truncated quote of it would stop. A secret
 * is found in every form a URL or XML can carry it, in either case:
 * percent-encoded (once or twice, hex in either case), as XML or HTML
 * entities (&#43; &#x2B; &amp; ..., once or twice), or any mix of these with
 * plain bytes. For any text a server sent before it is printed: a server may
 * quote the caller's credentials or signature back (a redirect's Location
 * holds the request's query string). */
void s3_redact(char *text, const char *const secrets[], size_t count);

#endif
