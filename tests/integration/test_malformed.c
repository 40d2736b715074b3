/* A table of malformed inputs — events, manifests and result files — run
 * through the command line on a directory store. Each must end with its
 * expected errorType and a message that says what is wrong: exit status 1,
 * nothing on stdout, the error document as the last line of stderr, nothing
 * written to (or left behind in) the store, and well within a time limit (no
 * hang, no crash).
 *
 * Every case starts from a valid export — event, manifest listing
 * r/SUCCEEDED_0.json, that file holding one entry — and replaces one part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "proc.h"
#include "files.h"

#define BUCKET "tdr-backend-checks-intg"
#define MANIFEST_KEY "cons-1/run-1/results.json/map-1/manifest.json"
#define RESULT_KEY "r/SUCCEEDED_0.json"
#define GOOD_EVENT                                                                                 \
    "{\"results\": {\"MapRunArn\": \"arn:aws:states:eu-west-2:1:mapRun:sm/Map:x\", "               \
    "\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET "\", \"Key\": \"" MANIFEST_KEY "\"}}}"
#define GOOD_MANIFEST                                                                              \
    "{\"DestinationBucket\": \"" BUCKET "\", \"ResultFiles\": {\"FAILED\": [], \"PENDING\": [], "  \
    "\"SUCCEEDED\": [{\"Key\": \"" RESULT_KEY "\"}]}}"
#define GOOD_RESULT "[{\"Name\": \"e0\", \"Output\": \"{\\\"ok\\\": true}\"}]"
/* Event for a bucket other than BUCKET. */
#define EVENT_FOR(bucket, key)                                                                     \
    "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" bucket "\", \"Key\": \"" key "\"}}}"
#define MANIFEST_WITH(succeeded) "{\"ResultFiles\": {\"SUCCEEDED\": [" succeeded "]}}"

/* What a case replaces. RESULT_SECOND: the manifest lists a valid file first
 * and the case's file second, so the failure comes after outputs were
 * streamed into the (then aborted) results.json. MANIFEST_COMPLETE: the
 * manifest, run with --require-complete. */
enum kind { EVENT, MANIFEST, RESULT, RESULT_SECOND, MANIFEST_COMPLETE };

/* Runs no longer than this (seconds); the largest case reads about 16 MB. */
enum { TIME_LIMIT_S = 10, KILL_AFTER_S = 30 };

struct malformed_case {
    const char *name;
    enum kind kind;
    const char *content;        /* NULL with `make`: built at run time */
    size_t len;                 /* 0: strlen(content) */
    char *(*make)(size_t *len); /* builds content too large to spell out */
    const char *transformation;
    const char *error_type;
    const char *message_part;
};

/* The content of a case: text, bytes (with NULs: the length is spelled out),
 * or made by a function. */
#define TEXT(s) s, 0, NULL
#define BYTES(s) s, sizeof(s) - 1, NULL
#define MADE(f) NULL, 0, f
#define NONE "NONE"
#define COMPACT "COMPACT"
#define FLATTEN "FLATTEN"

static char *repeat(const char *head, char c, size_t n, const char *tail, size_t *len)
{
    size_t h = strlen(head), t = strlen(tail);
    char *s = mem_check(malloc(h + n + t + 1));
    memcpy(s, head, h);
    memset(s + h, c, n);
    memcpy(s + h + n, tail, t + 1);
    *len = h + n + t;
    return s;
}

static char *deep_event(size_t *len)
{
    return repeat("{\"results\": ", '[', 100000, "", len);
}

static char *huge_event(size_t *len)
{
    /* Over Step Functions' 256 KiB payload limit, and a valid event otherwise. */
    return repeat("{\"pad\": \"", 'x', 256u * 1024,
                  "\", \"results\": {\"ResultWriterDetails\": {\"Bucket\": \"b\", "
                  "\"Key\": \"c/manifest.json\"}}}",
                  len);
}

static char *huge_manifest(size_t *len)
{
    /* One byte over the 16 MiB manifest limit, and a valid manifest otherwise. */
    return repeat("", ' ', 16u * 1024 * 1024 + 1 - strlen(GOOD_MANIFEST), GOOD_MANIFEST, len);
}

static char *deep_compact(size_t *len)
{
    return repeat("[", '[', 2000, "", len);
}

static char *deep_output(size_t *len)
{
    /* 991 levels inside an Output string: one over the limit. */
    char *open = repeat("[{\"Name\": \"deep\", \"Output\": \"", '[', 991, "", len);
    size_t n = *len;
    char *s = mem_check(realloc(open, n + 991 + 8));
    memset(s + n, ']', 991);
    strcpy(s + n + 991, "\"}]");
    *len = n + 991 + 3;
    return s;
}

static char *long_integer_output(size_t *len)
{
    /* An integer of 4301 digits, one over Python's int conversion limit. */
    return repeat("[{\"Output\": \"[", '7', 4301, "]\"}]", len);
}

static char *long_integer_compact(size_t *len)
{
    return repeat("{\"a\": 1}\n{\"b\": -", '7', 4301, "}\n", len);
}

static char *huge_output(size_t *len)
{
    /* An Output of 2 MiB: over the 1 MiB cap. */
    char *s = repeat("[{\"Output\": \"\\\"", 'x', 2u * 1024 * 1024, "\\\"\"}]", len);
    return s;
}

static char *huge_compact(size_t *len)
{
    /* A raw output one byte over the 1 MiB cap NONE applies to an Output. */
    return repeat("[\"", 'x', 1024u * 1024 - 1, "\"]", len);
}

static char *huge_name(size_t *len)
{
    /* A 100 kB Name is cut in messages, never refused or copied whole; the
     * entry still fails on its Output. */
    return repeat("[{\"Name\": \"", 'n', 100000, "\", \"Output\": \"nul\"}]", len);
}

/* Where the cases that fail at an object of the store happened: the CLI's
 * ERROR log line before the error document says so, since a message in S3's
 * wording (botocore's, which is the whole message) does not. */
static const struct {
    const char *name, *where;
} located[] = {
    {"event: no such bucket", "GetObject s3://no-such-bucket/c/m.json"},
    {"event: no such manifest", "GetObject s3://" BUCKET "/cons-1/missing/manifest.json"},
    {"event: Key escapes the bucket", "GetObject s3://" BUCKET "/cons-1/../../../etc/passwd"},
    {"manifest: DestinationBucket does not exist", "GetObject s3://elsewhere/" RESULT_KEY},
    {"manifest: result file missing", "GetObject s3://" BUCKET "/r/SUCCEEDED_1.json"},
    {"manifest: Key escapes the bucket", "GetObject s3://" BUCKET "/r/../../x"},
    {"event: duplicate Bucket, the last counts", "GetObject s3://other/" MANIFEST_KEY},
    {"manifest: duplicate SUCCEEDED, the last counts", "GetObject s3://" BUCKET "/r/last.json"},
    {"manifest: duplicate Key, the last counts", "GetObject s3://" BUCKET "/r/other.json"},
};

static const char *where_of(const char *name)
{
    for (size_t i = 0; i < sizeof located / sizeof *located; i++)
        if (strcmp(located[i].name, name) == 0)
            return located[i].where;
    return NULL;
}

static const struct malformed_case cases[] = {
    /* ---- events ---- */
    {"event: empty", EVENT, TEXT(""), NONE, "InvalidEvent", "not valid JSON"},
    {"event: not JSON", EVENT, TEXT("results: yes"), NONE, "InvalidEvent", "not valid JSON"},
    {"event: truncated", EVENT,
     TEXT("{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET "\""), NONE,
     "InvalidEvent", "not valid JSON"},
    {"event: trailing data", EVENT, TEXT(GOOD_EVENT " {}"), NONE, "InvalidEvent", "not valid JSON"},
    {"event: an array", EVENT, TEXT("[" GOOD_EVENT "]"), NONE, "InvalidEvent",
     "event is valid JSON but an array, not an object with a \"results\" object"},
    {"event: null", EVENT, TEXT("null"), NONE, "InvalidEvent",
     "event is valid JSON but null, not an object with a \"results\" object"},
    {"event: a number", EVENT, TEXT(" 42 "), NONE, "InvalidEvent",
     "event is valid JSON but a number"},
    {"event: a string", EVENT, TEXT("\"" MANIFEST_KEY "\""), NONE, "InvalidEvent",
     "event is valid JSON but a string"},
    {"event: no results", EVENT, TEXT("{}"), NONE, "InvalidEvent", "\"results\" is missing"},
    {"event: Key with an empty segment", EVENT,
     TEXT(EVENT_FOR(BUCKET, "cons-1//run-1/results.json/map-1/manifest.json")), NONE, "InvalidKey",
     "has an empty segment"},
    {"event: Key ending in '/'", EVENT, TEXT(EVENT_FOR(BUCKET, "cons-1/run/")), NONE, "InvalidKey",
     "has an empty segment"},
    {"event: results is an array", EVENT, TEXT("{\"results\": []}"), NONE, "InvalidEvent",
     "\"results\" object"},
    {"event: no ResultWriterDetails", EVENT, TEXT("{\"results\": {\"MapRunArn\": \"a\"}}"), NONE,
     "InvalidEvent", "results.ResultWriterDetails must be an object (it is missing)"},
    {"event: ResultWriterDetails is a string", EVENT,
     TEXT("{\"results\": {\"ResultWriterDetails\": \"s3://b/k\"}}"), NONE, "InvalidEvent",
     "ResultWriterDetails must be an object"},
    {"event: no Bucket", EVENT,
     TEXT("{\"results\": {\"ResultWriterDetails\": {\"Key\": \"c/m\"}}}"), NONE, "InvalidEvent",
     "Bucket must be a non-empty string (it is missing)"},
    {"event: empty Bucket", EVENT, TEXT(EVENT_FOR("", "c/m.json")), NONE, "InvalidEvent",
     "Bucket must be a non-empty string"},
    {"event: Key is a number", EVENT,
     TEXT("{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"b\", \"Key\": 5}}}"), NONE,
     "InvalidEvent", "Key must be a non-empty string"},
    /* Read as it is (S3 would look it up); the directory store cannot keep
     * an empty first segment apart. */
    {"event: Key starts with '/'", EVENT, TEXT(EVENT_FOR(BUCKET, "/m.json")), NONE, "InvalidKey",
     "object key \"/m.json\" in bucket " BUCKET " has an empty segment"},
    /* As in Python's json.loads, the last member of a name counts. */
    {"event: duplicate Bucket, the last counts", EVENT,
     TEXT("{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET "\", \"Bucket\": "
          "\"other\", \"Key\": \"" MANIFEST_KEY "\"}}}"),
     NONE, "NoSuchBucket", "The specified bucket does not exist"},
    {"event: duplicate results, the last counts", EVENT,
     TEXT("{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"" BUCKET
          "\", \"Key\": \"" MANIFEST_KEY "\"}}, \"results\": {\"ResultWriterDetails\": 5}}"),
     NONE, "InvalidEvent", "results.ResultWriterDetails must be an object"},
    {"event: NaN", EVENT, TEXT("{\"results\": NaN}"), NONE, "InvalidEvent",
     "expected an object with a \"results\" object"},
    {"event: lone surrogate in Key", EVENT, TEXT(EVENT_FOR(BUCKET, "cons-1/\\ud800/m.json")), NONE,
     "InvalidEvent", "results.ResultWriterDetails.Key holds a lone surrogate"},
    {"event: -Infinity cut short", EVENT, TEXT("{\"results\": -Infin"), NONE, "InvalidEvent",
     "not valid JSON"},
    {"event: NUL byte", EVENT, BYTES("{\"results\": {\0}}"), NONE, "InvalidEvent",
     "not valid JSON"},
    {"event: \\u0000 in Key", EVENT, TEXT(EVENT_FOR(BUCKET, "cons-1\\u0000/m.json")), NONE,
     "InvalidEvent", "results.ResultWriterDetails.Key holds U+0000"},
    {"event: invalid UTF-8 in Bucket", EVENT, TEXT(EVENT_FOR("b\xff", "c/m.json")), NONE,
     "InvalidEvent", "not valid JSON"},
    {"event: nested 100000 deep", EVENT, MADE(deep_event), NONE, "InvalidEvent", "not valid JSON"},
    {"event: over 256 KiB", EVENT, MADE(huge_event), NONE, "InvalidEvent", "larger than"},
    {"event: Bucket \"..\"", EVENT, TEXT(EVENT_FOR("..", "c/m.json")), NONE, "InvalidKey",
     "not a single path segment"},
    {"event: Bucket with '/'", EVENT, TEXT(EVENT_FOR(BUCKET "/x", "c/m.json")), NONE, "InvalidKey",
     "not a single path segment"},
    {"event: Key escapes the bucket", EVENT, TEXT(EVENT_FOR(BUCKET, "cons-1/../../../etc/passwd")),
     NONE, "InvalidKey", "\"..\" segment"},
    {"event: no such bucket", EVENT, TEXT(EVENT_FOR("no-such-bucket", "c/m.json")), NONE,
     "NoSuchBucket",
     "An error occurred (NoSuchBucket) when calling the GetObject operation: The specified bucket "
     "does not exist"},
    {"event: no such manifest", EVENT, TEXT(EVENT_FOR(BUCKET, "cons-1/missing/manifest.json")),
     NONE, "NoSuchKey",
     "An error occurred (NoSuchKey) when calling the GetObject operation: The specified key does "
     "not exist."},

    /* ---- manifests ---- */
    {"manifest: empty", MANIFEST, TEXT(""), NONE, "InvalidManifest", "is not valid JSON"},
    {"manifest: truncated", MANIFEST, TEXT("{\"ResultFiles\": {\"SUCCEEDED\": [{\"Key\": "), NONE,
     "InvalidManifest", "is not valid JSON"},
    {"manifest: an array", MANIFEST, TEXT("[{\"Key\": \"" RESULT_KEY "\"}]"), NONE,
     "InvalidManifest", "not a JSON object"},
    {"manifest: no ResultFiles", MANIFEST, TEXT("{\"DestinationBucket\": \"" BUCKET "\"}"), NONE,
     "InvalidManifest", "ResultFiles must be an object"},
    {"manifest: no SUCCEEDED", MANIFEST, TEXT("{\"ResultFiles\": {\"FAILED\": []}}"), NONE,
     "InvalidManifest", "ResultFiles.SUCCEEDED must be an array"},
    {"manifest: SUCCEEDED is an object", MANIFEST,
     TEXT("{\"ResultFiles\": {\"SUCCEEDED\": {\"Key\": \"" RESULT_KEY "\"}}}"), NONE,
     "InvalidManifest", "ResultFiles.SUCCEEDED must be an array"},
    {"manifest: SUCCEEDED entry is a string", MANIFEST, TEXT(MANIFEST_WITH("\"" RESULT_KEY "\"")),
     NONE, "InvalidManifest", "ResultFiles.SUCCEEDED[0] is not an object"},
    {"manifest: no Key", MANIFEST, TEXT(MANIFEST_WITH("{\"Size\": 3}")), NONE, "InvalidManifest",
     "ResultFiles.SUCCEEDED[0].Key must be a non-empty string"},
    {"manifest: empty Key", MANIFEST,
     TEXT(MANIFEST_WITH("{\"Key\": \"" RESULT_KEY "\"}, {\"Key\": \"\"}")), NONE, "InvalidManifest",
     "ResultFiles.SUCCEEDED[1].Key must be a non-empty string"},
    {"manifest: negative Size", MANIFEST, TEXT(MANIFEST_WITH("{\"Key\": \"a\", \"Size\": -5}")),
     NONE, "InvalidManifest", "SUCCEEDED[0].Size must be a non-negative integer"},
    {"manifest: Size is a string", MANIFEST,
     TEXT(MANIFEST_WITH("{\"Key\": \"a\", \"Size\": \"12\"}")), NONE, "InvalidManifest",
     "SUCCEEDED[0].Size must be a non-negative integer"},
    {"manifest: Size is a fraction", MANIFEST,
     TEXT(MANIFEST_WITH("{\"Key\": \"a\", \"Size\": 1.5}")), NONE, "InvalidManifest",
     "SUCCEEDED[0].Size must be a non-negative integer"},
    {"manifest: Size overflows", MANIFEST,
     TEXT(MANIFEST_WITH("{\"Key\": \"a\", \"Size\": 99999999999999999999}")), NONE,
     "InvalidManifest", "is not valid JSON"},
    {"manifest: FAILED is not an array", MANIFEST,
     TEXT("{\"ResultFiles\": {\"FAILED\": 0, \"SUCCEEDED\": []}}"), NONE, "InvalidManifest",
     "ResultFiles.FAILED is not an array"},
    {"manifest: empty DestinationBucket", MANIFEST,
     TEXT("{\"DestinationBucket\": \"\", \"ResultFiles\": {\"SUCCEEDED\": []}}"), NONE,
     "InvalidManifest", "DestinationBucket must be a non-empty string"},
    /* As in Python's json.loads, the last member of a name counts. */
    {"manifest: duplicate SUCCEEDED, the last counts", MANIFEST,
     TEXT("{\"ResultFiles\": {\"SUCCEEDED\": [{\"Key\": \"" RESULT_KEY "\"}], \"SUCCEEDED\": "
          "[{\"Key\": \"r/last.json\"}]}}"),
     NONE, "NoSuchKey", "The specified key does not exist."},
    {"manifest: duplicate Key, the last counts", MANIFEST,
     TEXT(MANIFEST_WITH("{\"Key\": \"" RESULT_KEY "\", \"Size\": 1, \"Key\": \"r/other.json\"}")),
     NONE, "NoSuchKey", "The specified key does not exist."},
    {"manifest: duplicate ResultFiles, the last counts", MANIFEST,
     TEXT("{\"ResultFiles\": {\"SUCCEEDED\": [{\"Key\": \"" RESULT_KEY "\"}]}, \"ResultFiles\": "
          "[]}"),
     NONE, "InvalidManifest", "ResultFiles must be an object"},
    {"manifest: invalid UTF-8", MANIFEST, TEXT(MANIFEST_WITH("{\"Key\": \"r/\xc0\xaf.json\"}")),
     NONE, "InvalidManifest", "is not valid JSON"},
    {"manifest: NUL byte", MANIFEST, BYTES("{\"ResultFiles\": \0}"), NONE, "InvalidManifest",
     "is not valid JSON"},
    {"manifest: FAILED files listed", MANIFEST_COMPLETE,
     TEXT("{\"ResultFiles\": {\"FAILED\": [{\"Key\": \"f\"}], \"PENDING\": [], \"SUCCEEDED\": "
          "[{\"Key\": \"" RESULT_KEY "\"}]}}"),
     NONE, "IncompleteMapRun", "1 FAILED and 0 PENDING result files (FAILED: f; PENDING: )"},
    {"manifest: PENDING files listed", MANIFEST_COMPLETE,
     TEXT("{\"ResultFiles\": {\"PENDING\": [{\"Key\": \"p\"}, {\"Key\": \"q\"}], \"SUCCEEDED\": "
          "[]}}"),
     NONE, "IncompleteMapRun", "0 FAILED and 2 PENDING"},
    {"manifest: DestinationBucket does not exist", MANIFEST,
     TEXT("{\"DestinationBucket\": \"elsewhere\", \"ResultFiles\": {\"SUCCEEDED\": [{\"Key\": "
          "\"" RESULT_KEY "\"}]}}"),
     NONE, "NoSuchBucket",
     "An error occurred (NoSuchBucket) when calling the GetObject operation: The specified bucket "
     "does not exist"},
    {"manifest: result file missing", MANIFEST,
     TEXT(MANIFEST_WITH("{\"Key\": \"" RESULT_KEY "\"}, {\"Key\": \"r/SUCCEEDED_1.json\"}")), NONE,
     "NoSuchKey",
     "An error occurred (NoSuchKey) when calling the GetObject operation: The specified key does "
     "not exist."},
    {"manifest: over 16 MiB", MANIFEST, MADE(huge_manifest), NONE, "InvalidManifest",
     "manifest s3://" BUCKET "/" MANIFEST_KEY " is larger than 16777216 bytes"},
    {"manifest: Key escapes the bucket", MANIFEST, TEXT(MANIFEST_WITH("{\"Key\": \"r/../../x\"}")),
     NONE, "InvalidKey", "\"..\" segment"},

    /* ---- result files, NONE ---- */
    {"result: empty", RESULT, TEXT(""), NONE, "InvalidResultFile", "is empty"},
    {"result: only whitespace", RESULT, TEXT(" \r\n\t\n"), NONE, "InvalidResultFile", "is empty"},
    {"result: truncated array", RESULT, TEXT("[{\"Output\": \"1\"}"), NONE, "InvalidResultFile",
     "the file ends (truncated?)"},
    {"result: truncated inside an entry", RESULT, TEXT("[{\"Output\": \"1\"}, {\"Outp"), NONE,
     "InvalidResultFile",
     "entry 1 at byte offset 18: the file ends at byte offset 24, before the entry does "
     "(truncated?)"},
    /* Wherever a file is cut, that is the file's fault (the entry's index,
     * "truncated?"), whatever the value it cuts. */
    {"result: truncated inside an Output", RESULT,
     TEXT("[{\"Output\": \"1\"}, {\"Output\": \"[1, "), NONE, "InvalidResultFile",
     "entry 1 at byte offset 18: the file ends at byte offset 34, before the entry does "
     "(truncated?)"},
    {"result: truncated inside an Output's escape", RESULT, TEXT("[{\"Output\": \"\\\"\\u00"), NONE,
     "InvalidResultFile", "entry 0 at byte offset 1: the file ends at byte offset 19"},
    {"result: truncated inside a Name", RESULT, TEXT("[{\"Name\": \"exec-1"), NONE,
     "InvalidResultFile",
     "entry 0 (Name exec-1) at byte offset 1: the file ends at byte offset 17"},
    {"result: truncated inside a character", RESULT, TEXT("[{\"Name\": \"a\xc3"), NONE,
     "InvalidResultFile", "(truncated?)"},
    {"result: truncated inside a skipped member", RESULT,
     TEXT("[{\"Output\": \"1\", \"RedriveCount\": -Infin"), NONE, "InvalidResultFile",
     "entry 0 at byte offset 1: the file ends at byte offset 39, before the entry does"},
    {"result: truncated inside OutputDetails", RESULT,
     TEXT("[{\"Output\": \"1\", \"OutputDetails\": {\"Included\": tr"), NONE, "InvalidResultFile",
     "(truncated?)"},
    {"result: JSON Lines truncated inside an Output", RESULT,
     TEXT("{\"Output\": \"1\"}\n{\"Output\": \"{\\\"a\\\": \\\"x"), NONE, "InvalidResultFile",
     "entry 1 at byte offset 16: the file ends at byte offset 39, before the entry does "
     "(truncated?)"},
    {"result: unused member NaN, bad Output", RESULT,
     TEXT("[{\"RedriveCount\": NaN, \"Size\": 1e400, \"N\": -Infinity, \"Output\": \"[1 2]\"}]"),
     NONE, "InvalidOutput", "entry 0 at byte offset 1: Output is not one valid JSON document"},
    {"result: trailing data", RESULT, TEXT(GOOD_RESULT " ["), NONE, "InvalidResultFile",
     "trailing data after the closing ']'"},
    {"result: a number", RESULT, TEXT("42"), NONE, "InvalidResultFile", "entry 0"},
    {"result: byte order mark", RESULT, TEXT("\xef\xbb\xbf" GOOD_RESULT), NONE, "InvalidResultFile",
     "entry 0 at byte offset 0"},
    {"result: NUL byte", RESULT, BYTES("[{\"Output\": \"1\"},\0]"), NONE, "InvalidResultFile",
     "byte 0x00"},
    {"result: entry without Output", RESULT,
     TEXT("[{\"Name\": \"e1\", \"Status\": \"SUCCEEDED\"}]"), NONE, "InvalidResultFile",
     "entry 0 (Name e1) at byte offset 1: the entry has no Output"},
    {"result: Output not included", RESULT,
     TEXT("[{\"Name\": \"e1\", \"OutputDetails\": {\"Included\": false}}]"), NONE, "InvalidOutput",
     "entry 0 (Name e1) at byte offset 1: the entry has no Output: Step Functions left it out"},
    {"result: Output empty, not included", RESULT,
     TEXT("{\"Output\": \"1\"}\n{\"Output\": \"\", \"OutputDetails\": {\"Included\": false}}\n"),
     NONE, "InvalidOutput", "entry 1 at byte offset 16: the entry has no Output: Step Functions"},
    {"result: JSON Lines, two entries on a line", RESULT,
     TEXT("{\"Output\": \"1\"}\n{\"Output\": \"2\"} {\"Output\": \"3\"}\n"), NONE,
     "InvalidResultFile", "entry 2 at byte offset 32 starts on the line of entry 1"},
    {"result: Output is a number", RESULT, TEXT("[{\"Name\": \"e1\", \"Output\": 1}]"), NONE,
     "InvalidResultFile", "Output is not a string"},
    {"result: raw outputs read as NONE", RESULT, TEXT("[{\"fileId\": \"f\"}]"), NONE,
     "InvalidResultFile", "the entry has no Output"},
    /* As in Python's json.loads, the last member of a name counts. */
    {"result: Output twice, the last counts", RESULT,
     TEXT("[{\"Output\": \"1\", \"Output\": \"[1 2]\"}]"), NONE, "InvalidOutput",
     "found '2', expected ',' or ']'"},
    {"result: Output twice, the last not a string", RESULT,
     TEXT("[{\"Output\": \"1\", \"Output\": 1}]"), NONE, "InvalidResultFile",
     "Output is not a string"},
    {"result: trailing comma in the array", RESULT, TEXT("[{\"Output\": \"1\"},]"), NONE,
     "InvalidResultFile", "entry 1"},
    {"result: trailing comma in an entry", RESULT, TEXT("[{\"Output\": \"1\",}]"), NONE,
     "InvalidResultFile", "entry 0"},
    {"result: missing comma between entries", RESULT,
     TEXT("[{\"Output\": \"1\"} {\"Output\": \"2\"}]"), NONE, "InvalidResultFile",
     "after entry 0 at byte offset 17: expected ',' or ']'"},
    {"result: unterminated string", RESULT, TEXT("[{\"Output\": \"1}]"), NONE, "InvalidResultFile",
     "entry 0 at byte offset 1: the file ends at byte offset 16, before the entry does "
     "(truncated?)"},
    {"result: Output unterminated string", RESULT, TEXT("[{\"Output\": \"\\\"1\"}]"), NONE,
     "InvalidOutput", "unterminated string"},
    {"result: bad escape in Name", RESULT, TEXT("[{\"Name\": \"a\\qb\", \"Output\": \"1\"}]"), NONE,
     "InvalidResultFile", "invalid escape sequence"},
    /* A Name cut off after escapes: the error message quotes the part read,
     * which is not NUL-terminated in the buffer (a heap over-read found by
     * fuzz_step; make sanitize catches a regression). */
    {"result: Name cut off by the end of the file", RESULT, TEXT("[{\"Name\": \"exec\\n-1\\t"),
     NONE, "InvalidResultFile", "(Name exec\n-1\t)"},
    {"result: bad escape in Name after escapes", RESULT,
     TEXT("[{\"Name\": \"e\\n1\\t2\\x\", \"Output\": \"1\"}]"), NONE, "InvalidResultFile",
     "(Name e\n1\t2)"},
    {"result: bad member after Output", RESULT, TEXT("[{\"Output\": \"1\", \"X\": [1,}]"), NONE,
     "InvalidResultFile", "expected a value"},
    {"result: JSON Lines, garbage line", RESULT, TEXT("{\"Output\": \"1\"}\nnot json\n"), NONE,
     "InvalidResultFile", "entry 1"},
    {"result: Output NaN", RESULT, TEXT("[{\"Name\": \"e1\", \"Output\": \"{\\\"a\\\": NaN}\"}]"),
     NONE, "InvalidOutput", "entry 0 (Name e1) at byte offset 1: Output is not one valid JSON"},
    {"result: Output Infinity", RESULT, TEXT("[{\"Output\": \"-Infinity\"}]"), NONE,
     "InvalidOutput", "found 'I', expected a digit"},
    {"result: Output with trailing data", RESULT, TEXT("[{\"Output\": \"{} {}\"}]"), NONE,
     "InvalidOutput", "trailing data after the value"},
    {"result: Output empty", RESULT, TEXT("[{\"Output\": \"\"}]"), NONE, "InvalidOutput",
     "found end of input, expected a value"},
    {"result: Output a bare word", RESULT, TEXT("[{\"Output\": \"SUCCEEDED\"}]"), NONE,
     "InvalidOutput", "expected a value"},
    {"result: Output trailing comma", RESULT, TEXT("[{\"Output\": \"[1,]\"}]"), NONE,
     "InvalidOutput", "expected a value"},
    {"result: Output single quotes", RESULT, TEXT("[{\"Output\": \"{'a': 1}\"}]"), NONE,
     "InvalidOutput", "expected a string key"},
    {"result: Output leading zero", RESULT, TEXT("[{\"Output\": \"[01]\"}]"), NONE, "InvalidOutput",
     "expected ',' or ']'"},
    {"result: Output invalid UTF-8", RESULT, TEXT("[{\"Output\": \"\\\"\xed\xa0\x80\\\"\"}]"), NONE,
     "InvalidOutput", "invalid UTF-8"},
    {"result: Output control character", RESULT, TEXT("[{\"Output\": \"\\\"a\x01\\\"\"}]"), NONE,
     "InvalidOutput", "unescaped control character"},
    {"result: Output escaped control character", RESULT,
     TEXT("[{\"Output\": \"\\\"a\\u0001\\\"\"}]"), NONE, "InvalidOutput",
     "unescaped control character"},
    {"result: Output nested 991 deep", RESULT, MADE(deep_output), NONE, "InvalidOutput",
     "nested deeper than 990 levels"},
    {"result: Output integer of 4301 digits", RESULT, MADE(long_integer_output), NONE,
     "InvalidOutput",
     "entry 0 at byte offset 1: Output is not one valid JSON document: integer at "
     "byte offset 1 has 4301 digits, more than the 4300 Python's json.loads reads"},
    {"result: Output over 1 MiB", RESULT, MADE(huge_output), NONE, "InvalidOutput",
     "longer than 1048576 bytes"},
    {"result: 100 kB Name", RESULT, MADE(huge_name), NONE, "InvalidOutput",
     "invalid literal (expected true, false or null)"},
    {"result: second file truncated", RESULT_SECOND, TEXT("[{\"Output\": \"1\"}, "), NONE,
     "InvalidResultFile", "r/SUCCEEDED_1.json"},
    {"result: second file bad Output", RESULT_SECOND, TEXT("{\"Output\": \"[1 2]\"}\n"), NONE,
     "InvalidOutput", "r/SUCCEEDED_1.json: entry 0 at byte offset 0"},

    /* ---- result files, COMPACT and FLATTEN ---- */
    {"compact: bad literal", RESULT, TEXT("[{\"a\": tru}]"), COMPACT, "InvalidOutput",
     "invalid literal"},
    {"compact: output over 1 MiB", RESULT, MADE(huge_compact), COMPACT, "InvalidOutput",
     "entry 0 at byte offset 1: the output is 1048577 bytes long"},
    {"compact: JSON Lines, two outputs on a line", RESULT, TEXT("{\"a\": 1} 2\n"), COMPACT,
     "InvalidResultFile", "entry 1 at byte offset 9 starts on the line of entry 0"},
    {"compact: nested 2000 deep", RESULT, MADE(deep_compact), COMPACT, "InvalidOutput",
     "nested deeper than 990 levels"},
    {"compact: integer of 4301 digits", RESULT, MADE(long_integer_compact), COMPACT,
     "InvalidOutput", "entry 1 at byte offset 9: integer at byte offset 15 has 4301 digits"},
    {"compact: JSON Lines starting with an array", RESULT, TEXT("[1]\n[2]\n"), COMPACT,
     "InvalidResultFile", "cannot be told from a JSON array file"},
    {"compact: unquoted key", RESULT, TEXT("{a: 1}\n"), COMPACT, "InvalidOutput",
     "expected a string key"},
    {"compact: truncated", RESULT, TEXT("[{\"a\": 1}, {\"b\": "), COMPACT, "InvalidResultFile",
     "entry 1 at byte offset 11: the file ends at byte offset 17, before the entry does "
     "(truncated?)"},
    {"compact: truncated inside a nested value", RESULT, TEXT("{\"a\": 1}\n{\"b\": [{\"c\": [tr"),
     COMPACT, "InvalidResultFile", "entry 1 at byte offset 9: the file ends at byte offset 25"},
    {"flatten: truncated inside an element", RESULT, TEXT("[[1, \"tw"), FLATTEN,
     "InvalidResultFile", "entry 0 at byte offset 1: the file ends at byte offset 8"},
    {"flatten: missing comma inside an output", RESULT, TEXT("[[1 2]]"), FLATTEN, "InvalidOutput",
     "entry 0"},
    {"flatten: missing comma between outputs", RESULT, TEXT("[[1] [2]]"), FLATTEN,
     "InvalidResultFile", "after entry 0"},
    {"flatten: trailing comma inside an output", RESULT, TEXT("[[1,]]"), FLATTEN, "InvalidOutput",
     "expected a value"},
    {"flatten: NaN", RESULT, TEXT("{\"x\": 1}\n[NaN]\n"), FLATTEN, "InvalidOutput", "entry 1"},
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put(const char *root, const char *bucket, const char *key, const char *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", root, bucket, key);
    files_write(path, data, len);
}

/* Runs one case; returns NULL if it behaved, else what went wrong (static). */
static const char *run_case(const struct malformed_case *c)
{
    static char why[8192];
    size_t len = c->len;
    char *made = NULL;
    const char *content = c->content;
    if (c->make)
        content = made = c->make(&len);
    else if (len == 0)
        len = strlen(content);

    char *root = files_tmpdir();
    const char *event = GOOD_EVENT, *manifest = GOOD_MANIFEST;
    size_t event_len = strlen(GOOD_EVENT), manifest_len = strlen(GOOD_MANIFEST);
    put(root, BUCKET, RESULT_KEY, GOOD_RESULT, strlen(GOOD_RESULT));
    switch (c->kind) {
    case EVENT:
        event = content;
        event_len = len;
        break;
    case MANIFEST:
    case MANIFEST_COMPLETE:
        manifest = content;
        manifest_len = len;
        break;
    case RESULT:
        put(root, BUCKET, RESULT_KEY, content, len);
        break;
    case RESULT_SECOND:
        manifest =
            MANIFEST_WITH("{\"Key\": \"" RESULT_KEY "\"}, {\"Key\": \"r/SUCCEEDED_1.json\"}");
        manifest_len = strlen(manifest);
        put(root, BUCKET, "r/SUCCEEDED_1.json", content, len);
        break;
    }
    put(root, BUCKET, MANIFEST_KEY, manifest, manifest_len);
    char event_path[4096];
    snprintf(event_path, sizeof event_path, "%s/event.json", root);
    files_write(event_path, event, event_len);
    int files_before = files_count(root);

    char *argv[] = {(char *)proc_bin(),        "--store",  root, "--transformation",
                    (char *)c->transformation, event_path, NULL, NULL};
    if (c->kind == MANIFEST_COMPLETE) {
        argv[5] = "--require-complete";
        argv[6] = event_path;
    }
    const char *where = where_of(c->name);
    char where_line[2048];
    snprintf(where_line, sizeof where_line, " where=%s\n", where ? where : "");
    struct proc_result res;
    double start = now_s();
    proc_run(argv, NULL, NULL, KILL_AFTER_S, &res);
    double took = now_s() - start;
    int files_after = files_count(root);

    char last[8192];
    proc_last_line(res.err, last, sizeof last);
    json_error_t jerr;
    json_t *doc = json_loads(last, 0, &jerr);
    const char *type = json_string_value(json_object_get(doc, "errorType"));
    const char *message = json_string_value(json_object_get(doc, "errorMessage"));
    const char *bad = NULL;
    if (res.status == 128 + 9)
        bad = "killed: it did not finish (hang?)";
    else if (res.status > 128)
        bad = "killed by a signal (crash)";
    else if (res.status != 1)
        bad = "exit status is not 1";
    else if (res.out_len != 0)
        bad = "something was written to stdout";
    else if (!doc || json_object_size(doc) != 2 || !type || !message)
        bad = "the last line of stderr is not an error document";
    else if (strcmp(type, c->error_type) != 0)
        bad = "wrong errorType";
    else if (!strstr(message, c->message_part))
        bad = "the message does not say what was expected";
    else if (strncmp(c->message_part, "An error occurred (", 19) == 0 &&
             strcmp(message, c->message_part) != 0)
        bad = "a message in S3's wording is not exactly botocore's";
    else if (where && !strstr(res.err, where_line))
        bad = "stderr does not say where (an ERROR line with where=) before the error document";
    else if (files_after != files_before)
        bad = "files were written to (or left in) the store";
    else if (took > TIME_LIMIT_S)
        bad = "took longer than the time limit";
    if (bad)
        snprintf(why, sizeof why,
                 "%s\n    expected %s with \"%s\"\n    status %d, %.1f s, files %d -> %d, "
                 "stdout %zu bytes\n    last stderr line: %.2000s",
                 bad, c->error_type, c->message_part, res.status, took, files_before, files_after,
                 res.out_len, last);
    json_decref(doc);
    proc_result_free(&res);
    files_rmtree(root);
    free(root);
    free(made);
    return bad ? why : NULL;
}

static void run_kind(enum kind first, enum kind last, const char *transformation)
{
    int failures = 0, ran = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct malformed_case *c = &cases[i];
        bool in_kind = c->kind >= first && c->kind <= last;
        if (!in_kind || (transformation && strcmp(c->transformation, transformation) != 0) ||
            (!transformation && strcmp(c->transformation, NONE) != 0))
            continue;
        ran++;
        const char *why = run_case(c);
        if (why) {
            print_error("  case \"%s\": %s\n", c->name, why);
            failures++;
        }
    }
    print_message("  %d cases, %d as expected\n", ran, ran - failures);
    if (failures)
        fail_msg("%d of %d malformed cases misbehaved", failures, ran);
}

static void test_malformed_events(void **state)
{
    (void)state;
    run_kind(EVENT, EVENT, NULL);
}

static void test_malformed_manifests(void **state)
{
    (void)state;
    run_kind(MANIFEST, MANIFEST, NULL);
    run_kind(MANIFEST_COMPLETE, MANIFEST_COMPLETE, NULL);
}

static void test_malformed_result_files(void **state)
{
    (void)state;
    run_kind(RESULT, RESULT_SECOND, NULL);
}

static void test_malformed_compact_and_flatten(void **state)
{
    (void)state;
    run_kind(RESULT, RESULT_SECOND, COMPACT);
    run_kind(RESULT, RESULT_SECOND, FLATTEN);
}

/* The table itself: enough cases, each kind and transformation covered, and
 * names unique (a failure names its case). */
static void test_table_is_complete(void **state)
{
    (void)state;
    size_t n = sizeof cases / sizeof *cases;
    assert_true(n >= 40);
    int per_kind[5] = {0}, compact = 0, flatten = 0;
    for (size_t i = 0; i < n; i++) {
        per_kind[cases[i].kind]++;
        compact += strcmp(cases[i].transformation, COMPACT) == 0;
        flatten += strcmp(cases[i].transformation, FLATTEN) == 0;
        assert_true(cases[i].content || cases[i].make);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(cases[i].name, cases[j].name);
    }
    assert_true(per_kind[EVENT] >= 10 && per_kind[MANIFEST] >= 10 && per_kind[RESULT] >= 10);
    assert_true(per_kind[RESULT_SECOND] >= 1 && per_kind[MANIFEST_COMPLETE] >= 1 && compact >= 3 &&
                flatten >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_complete),
        cmocka_unit_test(test_malformed_events),
        cmocka_unit_test(test_malformed_manifests),
        cmocka_unit_test(test_malformed_result_files),
        cmocka_unit_test(test_malformed_compact_and_flatten),
    };
    return cmocka_run_group_tests_name("malformed", tests, NULL, NULL);
}
