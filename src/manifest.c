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
 * JSON syntax as Python's json.loads reads it (so a syntax error is reported
 * as such wherever it is), the second checks the structure and counts
 * SUCCEEDED entries and key bytes, the third stores them into allocations of
 * exactly that size. Of several members of one name, the last counts
 * (json_object_find, json.h). */

enum { NAME_MAX_BYTES = 32 }; /* longer member names are none of ours */

struct parse {
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

/* Finds the last member of each name in the object at v (json_object_find);
 * an absent member's found[i].pos is NULL. */
static int find(struct parse *p, struct json_src *v, const char *const *names, int n,
                struct json_src *found)
{
    return json_object_find(v, names, n, found, &p->name, ERR_INVALID_MANIFEST, p->err) == 0
               ? 0
               : not_json(p);
}

/* Reads '[' at v and sets *more if an element follows. */
static int array_open(struct parse *p, struct json_src *v, bool *more)
{
    if (json_expect(v, '[', ERR_INVALID_MANIFEST, p->err) != 0)
        return not_json(p);
    int b = json_peek(v, p->err);
    if (b == ']')
        v->pos++;
    *more = b != ']';
    return 0;
}

/* After an element: reads ',' (*more set) or ']'. */
static int array_next(struct parse *p, struct json_src *v, bool *more)
{
    int b = json_peek(v, p->err);
    if (b != ',' && b != ']')
        return json_expect(v, ']', ERR_INVALID_MANIFEST, p->err) == 0 ? 0 : not_json(p);
    v->pos++;
    *more = b == ',';
    return 0;
}

/* Reads the string value at v (NULL: the member is absent) into p->text; *ok
 * is false if it is not a non-empty string. A U+0000 in it is an error: keys
 * are C strings. */
static int read_text(struct parse *p, const struct json_src *v, bool *ok, const char *what)
{
    *ok = false;
    if (!v->pos || *v->pos != '"')
        return 0;
    struct json_src at = *v;
    buf_reset(&p->text);
    if (json_decode_string(&at, &p->text, NULL, ERR_INVALID_MANIFEST, p->err) != 0)
        return not_json(p);
    if (p->text.len > 0 && memchr(p->text.data, '\0', p->text.len))
        return error_set(p->err, ERR_INVALID_MANIFEST,
                         "manifest %s: %s contains U+0000, before byte offset %llu", p->where, what,
                         (unsigned long long)json_src_offset(&at));
    *ok = p->text.len > 0;
    return 0;
}

/* A Size at v (NULL: absent, which is fine): a JSON integer (no fraction or
 * exponent) from 0 to INT64_MAX. The syntax pass has checked the number, and
 * the bytes are all in memory. */
static int read_size(struct parse *p, const struct json_src *v, int64_t *size, bool *ok)
{
    *ok = !v->pos;
    *size = -1;
    if (!v->pos)
        return 0;
    const uint8_t *e = v->pos;
    bool negative = *e == '-', integer = true, digits = false;
    e += negative;
    uint64_t v64 = 0;
    bool overflow = false;
    for (; e < v->end && *e && strchr("0123456789.eE+-", *e); e++) {
        if (*e < '0' || *e > '9') {
            integer = false;
            continue;
        }
        digits = true;
        unsigned d = (unsigned)(*e - '0');
        if (v64 > (UINT64_C(9223372036854775807) + negative - d) / 10)
            overflow = true;
        else
            v64 = v64 * 10 + d;
    }
    if (!digits) /* not a number (a string, NaN, -Infinity, ...) */
        return 0;
    if (integer && overflow)
        return error_set(p->err, ERR_INVALID_MANIFEST,
                         "manifest %s is not valid JSON: integer out of range before byte offset "
                         "%llu",
                         p->where, (unsigned long long)(v->base + (uint64_t)(e - v->start)));
    *ok = integer && (!negative || v64 == 0);
    *size = *ok ? (int64_t)v64 : -1;
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

/* One SUCCEEDED entry at v: {"Key": "...", "Size": N}, Size optional. */
static int succeeded_entry(struct parse *p, struct json_src *v, size_t i)
{
    if (json_peek(v, p->err) != '{') {
        char what[96];
        snprintf(what, sizeof what, "ResultFiles.SUCCEEDED[%zu] is not an object", i);
        return invalid(p, what);
    }
    static const char *const names[] = {"Key", "Size"};
    struct json_src m[2];
    if (find(p, v, names, 2, m) != 0)
        return -1;
    char what[64];
    snprintf(what, sizeof what, "ResultFiles.SUCCEEDED[%zu].Key", i);
    bool key_ok, size_ok;
    int64_t size;
    if (read_text(p, &m[0], &key_ok, what) != 0 || read_size(p, &m[1], &size, &size_ok) != 0)
        return -1;
    if (!key_ok)
        return error_set(p->err, ERR_INVALID_MANIFEST,
                         "manifest %s: ResultFiles.SUCCEEDED[%zu].Key must be a non-empty string",
                         p->where, i);
    if (!size_ok)
        return error_set(
            p->err, ERR_INVALID_MANIFEST,
            "manifest %s: ResultFiles.SUCCEEDED[%zu].Size must be a non-negative integer", p->where,
            i);
    size_t key_len = p->text.len;
    if (p->fill) {
        memcpy(p->arena_end, p->text.data, key_len);
        p->arena_end[key_len] = '\0';
        p->out->succeeded[i] = (struct result_file){p->arena_end, size};
        p->arena_end += key_len + 1;
        p->out->succeeded_count = i + 1;
    }
    p->count++;
    p->key_bytes += key_len + 1;
    return 0;
}

static int succeeded(struct parse *p, const struct json_src *list)
{
    if (!list->pos || *list->pos != '[')
        return invalid(p, "ResultFiles.SUCCEEDED must be an array");
    struct json_src v = *list;
    bool more;
    if (array_open(p, &v, &more) != 0)
        return -1;
    for (size_t i = 0; more; i++)
        if (succeeded_entry(p, &v, i) != 0 || array_next(p, &v, &more) != 0)
            return -1;
    return 0;
}

/* A FAILED or PENDING list at `list` (NULL: absent): counted, and its first
 * keys kept; entries past those are not looked into. */
static int listed(struct parse *p, const struct json_src *list, const char *name, size_t *count,
                  char *keys[MANIFEST_LISTED_KEYS])
{
    *count = 0;
    if (!list->pos)
        return 0;
    if (*list->pos != '[') {
        char what[64];
        snprintf(what, sizeof what, "ResultFiles.%s is not an array", name);
        return invalid(p, what);
    }
    struct json_src v = *list;
    bool more;
    if (array_open(p, &v, &more) != 0)
        return -1;
    for (size_t i = 0; more; i++) {
        if (i >= MANIFEST_LISTED_KEYS) {
            if (json_skip_value(&v, ERR_INVALID_MANIFEST, p->err) != 0)
                return not_json(p);
        } else {
            static const char *const names[] = {"Key"};
            struct json_src key = {.pos = NULL};
            bool key_ok = false;
            if (json_peek(&v, p->err) == '{') {
                char what[64];
                snprintf(what, sizeof what, "ResultFiles.%s[%zu].Key", name, i);
                if (find(p, &v, names, 1, &key) != 0 || read_text(p, &key, &key_ok, what) != 0)
                    return -1;
                if (key_ok && p->fill && !(keys[i] = copy_text(p)))
                    return out_of_memory(p);
            } else if (json_skip_value(&v, ERR_INVALID_MANIFEST, p->err) != 0) {
                return not_json(p);
            }
            if (!key_ok)
                return error_set(p->err, ERR_INVALID_MANIFEST,
                                 "manifest %s: ResultFiles.%s[%zu].Key must be a non-empty string",
                                 p->where, name, i);
        }
        *count = i + 1;
        if (array_next(p, &v, &more) != 0)
            return -1;
    }
    return 0;
}

static int result_files(struct parse *p, const struct json_src *files)
{
    if (!files->pos || *files->pos != '{')
        return invalid(p, "ResultFiles must be an object");
    static const char *const names[] = {"FAILED", "PENDING", "SUCCEEDED"};
    struct json_src v = *files, m[3];
    if (find(p, &v, names, 3, m) != 0 ||
        listed(p, &m[0], "FAILED", &p->out->failed_count, p->out->failed_keys) != 0 ||
        listed(p, &m[1], "PENDING", &p->out->pending_count, p->out->pending_keys) != 0)
        return -1;
    return succeeded(p, &m[2]);
}

static int parse_pass(struct parse *p, const char *json, size_t len)
{
    struct json_src src;
    json_src_memory(&src, json, len);
    p->count = p->key_bytes = 0;
    if (json_peek(&src, p->err) != '{')
        return invalid(p, "not a JSON object");
    static const char *const names[] = {"DestinationBucket", "ResultFiles"};
    struct json_src m[2];
    if (find(p, &src, names, 2, m) != 0)
        return -1;
    if (m[0].pos) {
        bool ok;
        if (read_text(p, &m[0], &ok, "DestinationBucket") != 0)
            return -1;
        if (!ok)
            return invalid(p, "DestinationBucket must be a non-empty string");
        if (p->fill && !(p->out->destination_bucket = copy_text(p)))
            return out_of_memory(p);
    }
    return result_files(p, &m[1]);
}

int manifest_parse(const char *json, size_t len, const char *where, struct manifest *out,
                   struct error *err)
{
    memset(out, 0, sizeof *out);
    if (json_check_document(json, len, ERR_INVALID_MANIFEST, err) != 0) {
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
