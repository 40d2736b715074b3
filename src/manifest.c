#include "manifest.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"

/* The manifest is read with the streaming scanner, not into a tree: a tree
 * takes about 22 times the manifest's size, and 16 MiB of tiny entries is a
 * valid manifest. Three passes over the bytes in memory: the first checks the
 * JSON syntax (so a syntax error is reported as such wherever it is), the
 * second checks the structure and counts SUCCEEDED entries and key bytes, the
 * third stores them into allocations of exactly that size. */

enum { NAME_MAX_BYTES = 32 }; /* longer member names are none of ours */

struct parse {
    struct json_src src;
    const char *where;
    struct error *err;
    struct manifest *out;
    bool fill;        /* third pass: store what the second counted */
    size_t count;     /* SUCCEEDED entries seen */
    size_t key_bytes; /* their keys' bytes, NULs included */
    char *arena_end;  /* third pass: where the next key goes */
    struct buf name;  /* the member name being read, cut to NAME_MAX_BYTES */
    struct buf text;  /* the string value being decoded */
};

static int invalid(struct parse *p, const char *what)
{
    return error_set(p->err, ERR_INVALID_MANIFEST, "manifest %s: %s", p->where, what);
}

static int not_json(struct parse *p)
{
    error_prefix(p->err, "manifest %s is not valid JSON: ", p->where);
    return -1;
}

static int out_of_memory(struct parse *p)
{
    return error_set(p->err, ERR_OUT_OF_MEMORY, "out of memory reading manifest %s", p->where);
}

static unsigned long long offset(const struct parse *p)
{
    return (unsigned long long)json_src_offset(&p->src);
}

/* Reads the next member name into p->name and the ':' after it. */
static int member_name(struct parse *p)
{
    bool overflowed;
    buf_reset(&p->name);
    if (json_decode_string(&p->src, &p->name, &overflowed, ERR_INVALID_MANIFEST, p->err) != 0 ||
        json_expect(&p->src, ':', ERR_INVALID_MANIFEST, p->err) != 0)
        return not_json(p);
    return 0;
}

static bool name_is(const struct parse *p, const char *name)
{
    return p->name.data && p->name.len == strlen(name) &&
           memcmp(p->name.data, name, p->name.len) == 0;
}

/* Refuses a second member of the same name, as a JSON reader that rejects
 * duplicates would (only the members the manifest is read for are tracked). */
static int once(struct parse *p, bool *seen, const char *name)
{
    if (*seen)
        return error_set(p->err, ERR_INVALID_MANIFEST,
                         "manifest %s is not valid JSON: duplicate object key \"%s\" before byte "
                         "offset %llu",
                         p->where, name, offset(p));
    *seen = true;
    return 0;
}

static int skip_value(struct parse *p)
{
    return json_copy_value(&p->src, NULL, ERR_INVALID_MANIFEST, p->err) == 0 ? 0 : not_json(p);
}

/* Reads the opening bracket (`open`: '{' or '[') and sets *more if a member or
 * element follows; the manifest is in memory, so json_peek cannot fail. */
static int container_open(struct parse *p, char open, char close, bool *more)
{
    if (json_expect(&p->src, open, ERR_INVALID_MANIFEST, p->err) != 0)
        return not_json(p);
    int b = json_peek(&p->src, p->err);
    if (b == close)
        p->src.pos++;
    *more = b != close;
    return 0;
}

/* After a member or element: reads ',' (*more set) or the closing bracket. */
static int container_next(struct parse *p, char close, bool *more)
{
    int b = json_peek(&p->src, p->err);
    if (b != ',' && b != close)
        return json_expect(&p->src, close, ERR_INVALID_MANIFEST, p->err) == 0 ? 0 : not_json(p);
    p->src.pos++;
    *more = b == ',';
    return 0;
}

static int object_open(struct parse *p, bool *more)
{
    return container_open(p, '{', '}', more);
}

static int object_next(struct parse *p, bool *more)
{
    return container_next(p, '}', more);
}

static int array_open(struct parse *p, bool *more)
{
    return container_open(p, '[', ']', more);
}

static int array_next(struct parse *p, bool *more)
{
    return container_next(p, ']', more);
}

/* Reads a string member's value into p->text; *ok is false (value skipped) if
 * it is not a non-empty string. A U+0000 in it is an error: keys are C
 * strings. */
static int read_text(struct parse *p, bool *ok, const char *what)
{
    *ok = false;
    if (json_peek(&p->src, p->err) != '"')
        return skip_value(p);
    buf_reset(&p->text);
    if (json_decode_string(&p->src, &p->text, NULL, ERR_INVALID_MANIFEST, p->err) != 0)
        return not_json(p);
    if (p->text.len > 0 && memchr(p->text.data, '\0', p->text.len))
        return error_set(p->err, ERR_INVALID_MANIFEST,
                         "manifest %s: %s contains U+0000, before byte offset %llu", p->where, what,
                         offset(p));
    *ok = p->text.len > 0;
    return 0;
}

/* A Size: a JSON integer (no fraction or exponent) from 0 to INT64_MAX. The
 * syntax pass has checked the number, and the bytes are all in memory. */
static int read_size(struct parse *p, int64_t *size, bool *ok)
{
    *ok = false;
    int b = json_peek(&p->src, p->err);
    if (b != '-' && (b < '0' || b > '9'))
        return skip_value(p);
    const uint8_t *s = p->src.pos, *e = s;
    bool negative = *e == '-', integer = true;
    e += negative;
    uint64_t v = 0;
    bool overflow = false;
    for (; e < p->src.end && *e && strchr("0123456789.eE+-", *e); e++) {
        if (*e < '0' || *e > '9') {
            integer = false;
            continue;
        }
        unsigned d = (unsigned)(*e - '0');
        if (v > (UINT64_C(9223372036854775807) + negative - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
    }
    p->src.pos = e;
    if (integer && overflow)
        return error_set(p->err, ERR_INVALID_MANIFEST,
                         "manifest %s is not valid JSON: integer out of range before byte offset "
                         "%llu",
                         p->where, offset(p));
    *ok = integer && (!negative || v == 0);
    *size = *ok ? (int64_t)v : -1;
    return 0;
}

static char *copy_text(struct parse *p)
{
    char *s = malloc(p->text.len + 1);
    if (s) {
        memcpy(s, p->text.data, p->text.len);
        s[p->text.len] = '\0';
    }
    return s;
}

/* One SUCCEEDED entry: {"Key": "...", "Size": N}, Size optional. */
static int succeeded_entry(struct parse *p, size_t i)
{
    if (json_peek(&p->src, p->err) != '{') {
        char what[96];
        snprintf(what, sizeof what, "ResultFiles.SUCCEEDED[%zu] is not an object", i);
        return invalid(p, what);
    }
    bool more, seen_key = false, seen_size = false, key_ok = false, size_ok = true;
    int64_t size = -1;
    size_t key_len = 0;
    char *key = NULL;
    if (object_open(p, &more) != 0)
        return -1;
    while (more) {
        if (member_name(p) != 0)
            return -1;
        if (name_is(p, "Key")) {
            char what[64];
            snprintf(what, sizeof what, "ResultFiles.SUCCEEDED[%zu].Key", i);
            if (once(p, &seen_key, "Key") != 0 || read_text(p, &key_ok, what) != 0)
                return -1;
            key_len = p->text.len;
            if (key_ok && p->fill) {
                key = p->arena_end;
                memcpy(key, p->text.data, key_len + 1);
            }
        } else if (name_is(p, "Size")) {
            if (once(p, &seen_size, "Size") != 0 || read_size(p, &size, &size_ok) != 0)
                return -1;
        } else if (skip_value(p) != 0) {
            return -1;
        }
        if (object_next(p, &more) != 0)
            return -1;
    }
    if (!key_ok)
        return error_set(p->err, ERR_INVALID_MANIFEST,
                         "manifest %s: ResultFiles.SUCCEEDED[%zu].Key must be a non-empty string",
                         p->where, i);
    if (!size_ok)
        return error_set(
            p->err, ERR_INVALID_MANIFEST,
            "manifest %s: ResultFiles.SUCCEEDED[%zu].Size must be a non-negative integer", p->where,
            i);
    if (p->fill) {
        p->out->succeeded[i] = (struct result_file){key, size};
        p->arena_end += key_len + 1;
        p->out->succeeded_count = i + 1;
    }
    p->count++;
    p->key_bytes += key_len + 1;
    return 0;
}

/* A FAILED or PENDING list: counted, and its first keys kept; entries past
 * those are not looked into. */
static int listed(struct parse *p, const char *name, size_t *count,
                  char *keys[MANIFEST_LISTED_KEYS])
{
    if (json_peek(&p->src, p->err) != '[') {
        char what[64];
        snprintf(what, sizeof what, "ResultFiles.%s is not an array", name);
        return invalid(p, what);
    }
    bool more;
    if (array_open(p, &more) != 0)
        return -1;
    for (size_t i = 0; more; i++) {
        if (i >= MANIFEST_LISTED_KEYS) {
            if (skip_value(p) != 0)
                return -1;
        } else {
            bool key_ok = false;
            if (json_peek(&p->src, p->err) == '{') {
                bool members, seen = false;
                if (object_open(p, &members) != 0)
                    return -1;
                while (members) {
                    if (member_name(p) != 0)
                        return -1;
                    if (name_is(p, "Key")) {
                        char what[64];
                        snprintf(what, sizeof what, "ResultFiles.%s[%zu].Key", name, i);
                        if (once(p, &seen, "Key") != 0 || read_text(p, &key_ok, what) != 0)
                            return -1;
                        if (key_ok && p->fill && !(keys[i] = copy_text(p)))
                            return out_of_memory(p);
                    } else if (skip_value(p) != 0) {
                        return -1;
                    }
                    if (object_next(p, &members) != 0)
                        return -1;
                }
            } else if (skip_value(p) != 0) {
                return -1;
            }
            if (!key_ok)
                return error_set(p->err, ERR_INVALID_MANIFEST,
                                 "manifest %s: ResultFiles.%s[%zu].Key must be a non-empty string",
                                 p->where, name, i);
        }
        *count = i + 1;
        if (array_next(p, &more) != 0)
            return -1;
    }
    return 0;
}

static int result_files(struct parse *p)
{
    bool more, seen_failed = false, seen_pending = false, seen_succeeded = false;
    if (object_open(p, &more) != 0)
        return -1;
    while (more) {
        if (member_name(p) != 0)
            return -1;
        int rc;
        if (name_is(p, "FAILED")) {
            rc = once(p, &seen_failed, "FAILED") != 0 ||
                         listed(p, "FAILED", &p->out->failed_count, p->out->failed_keys) != 0
                     ? -1
                     : 0;
        } else if (name_is(p, "PENDING")) {
            rc = once(p, &seen_pending, "PENDING") != 0 ||
                         listed(p, "PENDING", &p->out->pending_count, p->out->pending_keys) != 0
                     ? -1
                     : 0;
        } else if (name_is(p, "SUCCEEDED")) {
            rc = once(p, &seen_succeeded, "SUCCEEDED");
            if (rc == 0 && json_peek(&p->src, p->err) != '[')
                rc = invalid(p, "ResultFiles.SUCCEEDED must be an array");
            bool entries = false;
            if (rc == 0)
                rc = array_open(p, &entries);
            for (size_t i = 0; rc == 0 && entries; i++) {
                rc = succeeded_entry(p, i);
                if (rc == 0)
                    rc = array_next(p, &entries);
            }
        } else {
            rc = skip_value(p);
        }
        if (rc != 0 || object_next(p, &more) != 0)
            return -1;
    }
    return seen_succeeded ? 0 : invalid(p, "ResultFiles.SUCCEEDED must be an array");
}

static int root(struct parse *p)
{
    if (json_peek(&p->src, p->err) != '{')
        return invalid(p, "not a JSON object");
    bool more, seen_dest = false, seen_files = false;
    if (object_open(p, &more) != 0)
        return -1;
    while (more) {
        if (member_name(p) != 0)
            return -1;
        if (name_is(p, "DestinationBucket")) {
            bool ok;
            if (once(p, &seen_dest, "DestinationBucket") != 0 ||
                read_text(p, &ok, "DestinationBucket") != 0)
                return -1;
            if (!ok)
                return invalid(p, "DestinationBucket must be a non-empty string");
            if (p->fill && !(p->out->destination_bucket = copy_text(p)))
                return out_of_memory(p);
        } else if (name_is(p, "ResultFiles")) {
            if (once(p, &seen_files, "ResultFiles") != 0)
                return -1;
            if (json_peek(&p->src, p->err) != '{')
                return invalid(p, "ResultFiles must be an object");
            if (result_files(p) != 0)
                return -1;
        } else if (skip_value(p) != 0) {
            return -1;
        }
        if (object_next(p, &more) != 0)
            return -1;
    }
    return seen_files ? 0 : invalid(p, "ResultFiles must be an object");
}

static int parse_pass(struct parse *p, const char *json, size_t len)
{
    json_src_memory(&p->src, json, len);
    p->count = p->key_bytes = 0;
    return root(p);
}

int manifest_parse(const char *json, size_t len, const char *where, struct manifest *out,
                   struct error *err)
{
    memset(out, 0, sizeof *out);
    if (json_copy_document(json, len, NULL, ERR_INVALID_MANIFEST, err) != 0) {
        error_prefix(err, "manifest %s is not valid JSON: ", where);
        return -1;
    }
    struct parse p = {.where = where, .err = err, .out = out};
    buf_init(&p.name, NAME_MAX_BYTES);
    buf_init(&p.text, MANIFEST_MAX_BYTES);
    int rc = parse_pass(&p, json, len);
    if (rc == 0) {
        size_t n = p.count;
        out->key_arena = malloc(p.key_bytes ? p.key_bytes : 1);
        out->succeeded = n ? calloc(n, sizeof *out->succeeded) : NULL;
        if (!out->key_arena || (n && !out->succeeded)) {
            rc = out_of_memory(&p);
        } else {
            /* The counts are recounted by the filling pass. */
            out->failed_count = out->pending_count = 0;
            p.fill = true;
            p.arena_end = out->key_arena;
            rc = parse_pass(&p, json, len);
        }
    }
    buf_free(&p.name);
    buf_free(&p.text);
    if (rc != 0)
        manifest_free(out);
    return rc;
}

void manifest_free(struct manifest *m)
{
    free(m->key_arena);
    free(m->succeeded);
    for (size_t i = 0; i < MANIFEST_LISTED_KEYS; i++) {
        free(m->failed_keys[i]);
        free(m->pending_keys[i]);
    }
    free(m->destination_bucket);
    memset(m, 0, sizeof *m);
}
