/* credentials: AWS credentials from the environment or the shared credentials file.
 *
 * Lambda puts the execution role's temporary credentials in the environment;
 * the file is for running the step by hand. Secrets never appear in an error
 * message or a log line: messages name what is missing and where it looked. */
#ifndef BCR_CREDENTIALS_H
#define BCR_CREDENTIALS_H

#include "error.h"

struct aws_credentials {
    char *access_key_id;     /* owned, never NULL after a successful load */
    char *secret_access_key; /* owned, never NULL after a successful load */
    char *session_token;     /* owned, NULL when there is none */
};

/* Largest shared credentials file read; a bigger one is refused. */
#define CREDENTIALS_FILE_MAX (1024 * 1024)

/* Loads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN from the
 * environment (empty counts as unset; one of the pair without the other is an
 * error, not a fall-back). If both are unset: the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE, a leading "~/" meaning $HOME; default
 * $HOME/.aws/credentials), section [AWS_PROFILE] (default "default"), keys
 * aws_access_key_id, aws_secret_access_key, aws_session_token (names are
 * case-insensitive; '=' or ':' separates; '#' and ';' start comment lines).
 *
 * *out is overwritten (its old contents are not freed): on success the caller
 * owns the strings and releases them with credentials_clear(); on failure it is
 * left zeroed. Returns 0, or -1 with err set (ERR_CONFIG, or ERR_OUT_OF_MEMORY). */
int credentials_load(struct aws_credentials *out, struct error *err);

/* Overwrites the secrets with zeros, frees them, and NULLs the fields. Safe on
 * a zeroed struct and on NULL. */
void credentials_clear(struct aws_credentials *c);

#endif
