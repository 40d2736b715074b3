/* s3/credentials: AWS credentials (and a profile's region) as the AWS CLI finds
 * them: the environment, the shared credentials file, the config file and its
 * credential_process. The environment's values come in a struct aws_env, read
 * by the configuration (s3/config.h): this module reads no variable itself.
 *
 * Lambda puts the execution role's temporary credentials in the environment;
 * the files are for running the step by hand (an SSO sign-in reaches us through
 * credential_process). Secrets never appear in an error message or a log line:
 * messages name what is missing and where it looked, never a file's or a
 * process's contents. */
#ifndef BCR_CREDENTIALS_H
#define BCR_CREDENTIALS_H

#include <stddef.h>

#include "error.h"

/* What the credentials chain reads of the environment, read once by the
 * configuration (s3_config_aws_env): each pointer borrowed, NULL when the
 * variable is unset or empty. */
struct aws_env {
    const char *access_key_id;           /* AWS_ACCESS_KEY_ID */
    const char *secret_access_key;       /* AWS_SECRET_ACCESS_KEY */
    const char *session_token;           /* AWS_SESSION_TOKEN */
    const char *profile;                 /* AWS_PROFILE; NULL: "default" */
    const char *shared_credentials_file; /* AWS_SHARED_CREDENTIALS_FILE */
    const char *config_file;             /* AWS_CONFIG_FILE */
    const char *home;                    /* HOME */
};

struct aws_credentials {
    char *access_key_id;     /* owned, never NULL after a successful load */
    char *secret_access_key; /* owned, never NULL after a successful load */
    char *session_token;     /* owned, NULL when there is none */
};

/* Largest credentials or config file read; a bigger one is refused. */
#define CREDENTIALS_FILE_MAX (1024 * 1024)
/* Most a credential_process may print, and how long it may take (an SSO
 * refresh makes a network call). */
#define CREDENTIAL_PROCESS_OUTPUT_MAX (64 * 1024)
#define CREDENTIAL_PROCESS_TIMEOUT_MS (60 * 1000)

/* Loads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN from env
 * (one of the pair without the other is an error, not a fall-back). If both
 * are unset, profile AWS_PROFILE (default "default"), in the AWS CLI's order:
 *   1. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, default
 *      ~/.aws/credentials), section [NAME]: aws_access_key_id,
 *      aws_secret_access_key, aws_session_token;
 *   2. credential_process of the profile (credentials file, else config
 *      file): see credentials_from_process;
 *   3. the config file (AWS_CONFIG_FILE, default ~/.aws/config), section
 *      [profile NAME] (or [default]): the same three keys.
 * Key names are case-insensitive; '=' or ':' separates; '#' and ';' start
 * comment lines; a leading "~/" in a file variable means $HOME. A file that
 * does not exist is skipped; one that cannot be read, a FIFO (never waited
 * on) or one holding a NUL byte is an error. A profile
 * with one key of the pair and not the other is an error, not a fall-back.
 *
 * *out is overwritten (its old contents are not freed): on success the caller
 * owns the strings and releases them with credentials_clear(); on failure it is
 * left zeroed. env is borrowed for the call. Returns 0, or -1 with err set
 * (ERR_CONFIG, or ERR_OUT_OF_MEMORY). */
int credentials_load(const struct aws_env *env, struct aws_credentials *out, struct error *err);

/* Runs command (with /bin/sh -c; stdin /dev/null, stderr inherited) and reads
 * its stdout, at most CREDENTIAL_PROCESS_OUTPUT_MAX bytes within timeout_ms
 * (then it and its process group are killed): the AWS CLI's document
 * {"Version": 1, "AccessKeyId": ..., "SecretAccessKey": ..., "SessionToken":
 * ..., "Expiration": ...}, read as botocore's json.loads reads it, the last
 * member of a name counting (SessionToken and Expiration optional; credentials
 * whose Expiration has passed are refused, as the AWS CLI does). A process
 * that cannot start, exits non-zero, overruns either bound, or prints anything
 * else is a ConfigurationError naming the profile, never quoting the output
 * but its Expiration. SIGTERM or SIGINT (interrupt.h) while it runs ends it
 * and its process group at once: an Interrupted error. *out as for
 * credentials_load. */
int credentials_from_process(const char *command, const char *profile, int timeout_ms,
                             struct aws_credentials *out, struct error *err);

/* The region of profile env->profile (default "default") in the config file,
 * copied into out (cap bytes); "" when there is none (no file, no profile, no
 * region). Returns 0, or -1 with a ConfigurationError for a file that exists
 * but cannot be read, or a region that does not fit. */
int credentials_profile_region(const struct aws_env *env, char *out, size_t cap, struct error *err);

/* Overwrites the secrets with zeros, frees them, and NULLs the fields. Safe on
 * a zeroed struct and on NULL. */
void credentials_clear(struct aws_credentials *c);

#endif
