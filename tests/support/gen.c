#define _POSIX_C_SOURCE 200809L
#include "gen.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "files.h"
#include "jsonw.h"
#include "mem.h"

char *gen_nested_json(int depth, bool objects)
{
    char *s = mem_check(malloc((size_t)depth * 6 + 2)), *p = s;
    for (int i = 0; i < depth; i++)
        p += sprintf(p, objects ? "{\"a\":" : "[");
    if (objects)
        *p++ = '1';
    for (int i = 0; i < depth; i++)
        *p++ = objects ? '}' : ']';
    *p = '\0';
    return s;
}

/* The generator: a deterministic xorshift stream, so a seed names an export. */
struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static void rng_uuid(struct rng *r, char out[37])
{
    uint64_t a = rng_next(r), b = rng_next(r);
    snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
             (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
             (unsigned long long)(b & 0xffffffffffffULL));
}

static void rng_hex(struct rng *r, char *out, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < digits; i++)
        out[i] = hex[rng_next(r) & 15];
    out[digits] = '\0';
}

static void kv_string(struct jsonw *w, const char *name, const char *value, bool first)
{
    jsonw_raw(w, first ? "" : ",");
    jsonw_string(w, name);
    jsonw_raw(w, ":");
    if (value)
        jsonw_string(w, value);
    else
        jsonw_raw(w, "null");
}

/* One file's record, as the checks write it (compact JSON). */
static int make_record(struct rng *r, const char *consignment, char *out, size_t cap)
{
    static const char *const folders[] = {"Board minutes", "Reports", "Photos",
                                          "\xc3\x9c"
                                          "n\xc3\xaf"
                                          "c\xc3\xb8"
                                          "d\xc3\xa9 \xe2\x9c\x93",
                                          "Emoji \xf0\x9f\x93\x81 \"quoted\" \\ back"};
    static const char *const exts[] = {"pdf", "docx", "txt", "jpg", "xlsx", "tif"};
    char fid[37], uid[37], src[37], checksum[65], sha[65], path[256], key[160], size[24], dbv[16],
        puid[16], fmt[32];
    rng_uuid(r, fid);
    rng_uuid(r, uid);
    rng_uuid(r, src);
    rng_hex(r, checksum, 64);
    rng_hex(r, sha, 64);
    const char *ext = exts[rng_next(r) % 6];
    snprintf(path, sizeof path, "Transfer/%s/file-%u.%s", folders[rng_next(r) % 5],
             (unsigned)(rng_next(r) % 1000000), ext);
    snprintf(size, sizeof size, "%llu", (unsigned long long)(rng_next(r) % 1000000000));
    snprintf(dbv, sizeof dbv, "1.0.%u", (unsigned)(rng_next(r) % 100));
    snprintf(puid, sizeof puid, "fmt/%u", (unsigned)(rng_next(r) % 2000));
    snprintf(fmt, sizeof fmt, "Format \"%s\"", ext);
    struct jsonw w;
    jsonw_init(&w, out, cap);
    jsonw_raw(&w, "{");
    kv_string(&w, "consignmentId", consignment, true);
    kv_string(&w, "fileId", fid, false);
    kv_string(&w, "userId", uid, false);
    kv_string(&w, "consignmentType", "standard", false);
    kv_string(&w, "fileSize", size, false);
    kv_string(&w, "clientChecksum", checksum, false);
    kv_string(&w, "originalPath", path, false);
    kv_string(&w, "s3SourceBucket", "tdr-upload-files-cloudfront-dirty-intg", false);
    snprintf(key, sizeof key, "%s/%s/%s", src, consignment, fid);
    kv_string(&w, "s3SourceBucketKey", key, false);
    kv_string(&w, "s3QuarantineBucket", NULL, false);
    kv_string(&w, "s3QuarantineBucketKey", NULL, false);
    kv_string(&w, "s3CleanDestinationBucket", "tdr-upload-files-intg", false);
    snprintf(key, sizeof key, "%s/%s", consignment, fid);
    kv_string(&w, "s3CleanDestinationBucketKey", key, false);
    jsonw_raw(&w, ",\"fileCheckResults\":{\"antivirus\":[{");
    kv_string(&w, "fileId", fid, true);
    kv_string(&w, "software", "yara", false);
    kv_string(&w, "softwareVersion", "4.3.2", false);
    kv_string(&w, "databaseVersion", dbv, false);
    kv_string(&w, "result", "", false);
    jsonw_raw(&w, ",\"datetime\":");
    jsonw_int(&w, 1700000000000LL + (long long)(rng_next(r) % 1000000000));
    jsonw_raw(&w, "}],\"checksum\":[{");
    kv_string(&w, "sha256Checksum", sha, true);
    kv_string(&w, "fileId", fid, false);
    jsonw_raw(&w, "}],\"fileFormat\":[{");
    kv_string(&w, "fileId", fid, true);
    kv_string(&w, "software", "DROID", false);
    kv_string(&w, "softwareVersion", "6.7.0", false);
    kv_string(&w, "binarySignatureFileVersion", "118", false);
    kv_string(&w, "containerSignatureFileVersion", "20240501", false);
    kv_string(&w, "method", "pronom", false);
    jsonw_raw(&w, ",\"matches\":[{");
    kv_string(&w, "extension", ext, true);
    kv_string(&w, "identificationBasis", "Signature", false);
    kv_string(&w, "puid", puid, false);
    jsonw_raw(&w, rng_next(r) % 10 == 0 ? ",\"fileExtensionMismatch\":true"
                                        : ",\"fileExtensionMismatch\":false");
    kv_string(&w, "formatName", fmt, false);
    jsonw_raw(&w, "}]}]}}");
    return jsonw_finish(&w);
}

/* One entry of a result file, wrapping the record as Step Functions does. */
static int make_entry(struct rng *r, const char *record, uint64_t i, char *out, size_t cap)
{
    char name[37], arn[160], start[40];
    rng_uuid(r, name);
    struct jsonw w;
    jsonw_init(&w, out, cap);
    snprintf(arn, sizeof arn,
             "arn:aws:states:eu-west-2:123456789012:execution:tdr-backend-checks-intg/Map:%s",
             name);
    jsonw_raw(&w, "{");
    kv_string(&w, "ExecutionArn", arn, true);
    kv_string(&w, "Input", "{\"fileId\":\"x\"}", false);
    jsonw_raw(&w, ",\"InputDetails\":{\"Included\":true}");
    kv_string(&w, "Name", name, false);
    kv_string(&w, "Output", record, false);
    jsonw_raw(&w, ",\"OutputDetails\":{\"Included\":true},\"RedriveCount\":0");
    kv_string(&w, "RedriveStatus", "NOT_REDRIVABLE", false);
    snprintf(start, sizeof start, "2026-11-21T10:00:%02u.%03uZ", (unsigned)(i % 60),
             (unsigned)(i % 1000));
    kv_string(&w, "StartDate", start, false);
    kv_string(&w, "StateMachineArn",
              "arn:aws:states:eu-west-2:123456789012:stateMachine:tdr-backend-checks-intg/Map",
              false);
    kv_string(&w, "Status", "SUCCEEDED", false);
    kv_string(&w, "StopDate", start, false);
    jsonw_raw(&w, "}");
    return jsonw_finish(&w);
}

void gen_export(const char *root, const struct gen_export_spec *spec, const char *expected_path,
                struct gen_export_info *info)
{
    const char *bucket = spec->bucket ? spec->bucket : "tdr-backend-checks-intg";
    struct rng r = {0x9e3779b97f4a7c15ULL ^ ((uint64_t)spec->seed * 0x100000001b3ULL + 1)};
    char run[37], maprun[37], prefix[256], path[4096];
    rng_uuid(&r, info->consignment_id);
    rng_uuid(&r, run);
    rng_uuid(&r, maprun);
    snprintf(prefix, sizeof prefix, "%s/%s/results.json/%s", info->consignment_id, run, maprun);
    FILE *expected = expected_path ? fopen(expected_path, "wb") : NULL;
    if (expected_path && !expected)
        mem_fail(expected_path);

    int files = spec->files > 0 ? spec->files : 1;
    uint64_t per = (spec->entries + (uint64_t)files - 1) / (uint64_t)files, done = 0;
    struct jsonw manifest;
    static char manifest_text[1 << 20];
    jsonw_init(&manifest, manifest_text, sizeof manifest_text);
    jsonw_raw(&manifest, "{\"DestinationBucket\":");
    jsonw_string(&manifest, bucket);
    jsonw_raw(&manifest, ",\"ResultFiles\":{\"FAILED\":[],\"PENDING\":[],\"SUCCEEDED\":[");
    char *record = mem_check(malloc(65536)), *entry = mem_check(malloc(262144));
    for (int k = 0; k < files; k++) {
        char key[512];
        snprintf(key, sizeof key, "%s/SUCCEEDED_%d.json", prefix, k);
        snprintf(path, sizeof path, "%s/%s/%s", root, bucket, key);
        files_make_parents(path);
        FILE *f = fopen(path, "wb");
        if (!f)
            mem_fail(path);
        if (!spec->jsonl)
            fputc('[', f);
        for (uint64_t i = 0; i < per && done < spec->entries; i++, done++) {
            if (make_record(&r, info->consignment_id, record, 65536) < 0 ||
                make_entry(&r, record, done, entry, 262144) < 0)
                fail_msg("%s", "gen: a record does not fit the generator's buffer");
            if (!spec->jsonl && i > 0)
                fputs(", ", f);
            fputs(entry, f);
            if (spec->jsonl)
                fputc('\n', f);
            if (expected)
                fprintf(expected, "%s\n", record);
        }
        if (!spec->jsonl)
            fputc(']', f);
        long size = ftell(f);
        if (fclose(f) != 0)
            mem_fail(path);
        jsonw_raw(&manifest, k ? ",{\"Key\":" : "{\"Key\":");
        jsonw_string(&manifest, key);
        jsonw_raw(&manifest, ",\"Size\":");
        jsonw_int(&manifest, size);
        jsonw_raw(&manifest, "}");
    }
    free(record);
    free(entry);
    jsonw_raw(&manifest, "]}}");
    if (jsonw_finish(&manifest) < 0)
        fail_msg("%s", "gen: the manifest does not fit its buffer");
    snprintf(info->manifest_key, sizeof info->manifest_key, "%s/manifest.json", prefix);
    snprintf(path, sizeof path, "%s/%s/%s", root, bucket, info->manifest_key);
    files_write(path, manifest_text, strlen(manifest_text));
    if (expected && fclose(expected) != 0)
        mem_fail(expected_path);

    struct jsonw ev;
    jsonw_init(&ev, info->event, sizeof info->event);
    jsonw_raw(&ev, "{\"results\":{\"MapRunArn\":\"arn:aws:states:eu-west-2:123456789012:mapRun:"
                   "tdr-backend-checks-intg/Map:");
    jsonw_raw(&ev, maprun);
    jsonw_raw(&ev, "\",\"ResultWriterDetails\":{\"Bucket\":");
    jsonw_string(&ev, bucket);
    jsonw_raw(&ev, ",\"Key\":");
    jsonw_string(&ev, info->manifest_key);
    jsonw_raw(&ev, "}}}");
    if (jsonw_finish(&ev) < 0)
        fail_msg("%s", "gen: the event does not fit its buffer");
}
