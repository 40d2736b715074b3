/* The test S3 server itself (tests/s3/server.js), checked with AWS's own
 * Python signer (botocore, Debian's python3-botocore): requests signed right
 * pass, whatever the key; requests changed after signing, or signed with the
 * wrong secret, key id or session token, fail with S3's error codes and are
 * counted; the multipart emulation answers as S3 does; every fault action
 * does what it says. Flexible checksums, sent as the program is to send them
 * (its signer, UNSIGNED-PAYLOAD, x-amz-checksum-crc32c from src/crc32c.c):
 * verified on PutObject and UploadPart (BadDigest), required with an unsigned
 * payload, and required per part by a CompleteMultipartUpload of an upload
 * created with x-amz-checksum-algorithm: CRC32C. Then the s3env helpers.
 * Without this, a proxy that let everything through would make the product's
 * S3 tests prove nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "crc32c.h"
#include "proc.h"
#include "s3/sigv4.h"
#include "s3env.h"

#define TOKEN "FwoGZXIvYXdzEJr//////////wEaDO+tok/en=="
#define BUCKET "bcr-proxy-check"

static struct s3env env;
static bool server_up;

/* The check, one line each (a string literal of it all would be longer than
 * C requires compilers to take). */
static const char *const script_lines[] = {
    "# Checks the test S3 proxy with AWS's own Python signer (botocore).",
    "# argv: ENDPOINT ACCESS_KEY SECRET_KEY SESSION_TOKEN BUCKET",
    "import sys, hashlib, base64, socket, json, urllib.request, urllib.error, re",
    "import botocore.session",
    "from botocore.auth import S3SigV4Auth",
    "from botocore.awsrequest import AWSRequest",
    "from botocore.config import Config",
    "from botocore.credentials import Credentials",
    "from botocore.exceptions import ClientError",
    "endpoint, akid, secret, token, bucket = sys.argv[1:6]",
    "failed = []",
    "def check(name, cond, detail=\"\"):",
    "    print((\"ok   \" if cond else \"FAIL \") + name + (\"\" if cond else \": \" + "
    "str(detail)))",
    "    if not cond: failed.append(name)",
    "def client(secret_=secret, token_=token, akid_=akid, read_timeout=10):",
    "    return botocore.session.get_session().create_client(",
    "        \"s3\", region_name=\"eu-west-2\", endpoint_url=endpoint, aws_access_key_id=akid_,",
    "        aws_secret_access_key=secret_, aws_session_token=token_ or None,",
    "        config=Config(s3={\"addressing_style\": \"path\"}, signature_version=\"s3v4\",",
    "                      retries={\"total_max_attempts\": 1}, read_timeout=read_timeout, "
    "connect_timeout=5))",
    "def code(f):",
    "    try: f(); return \"OK\"",
    "    except ClientError as e: return e.response[\"Error\"][\"Code\"]",
    "    except Exception as e: return type(e).__name__",
    "def control(method, path, body=None):",
    "    req = urllib.request.Request(endpoint + path, data=None if body is None else "
    "json.dumps(body).encode(), method=method)",
    "    with urllib.request.urlopen(req) as r: return json.loads(r.read())",
    "c = client()",
    "# Valid requests, keys of every shape.",
    "keys = [\"plain.json\", \"a b/c+d&e=f%g?h#i/ünï ✓ 日本.json\", \"x//y/z\", "
    "\"t!*'()~;:@,$[]{}<>\\\"\\\\^`|.json\",",
    "        \"/\".join([\"s\" * 200] * 4) + \"/end\"]",
    "for k in keys:",
    "    body = (\"hello \" + k).encode()",
    "    check(\"put \" + k[:30], code(lambda: c.put_object(Bucket=bucket, Key=k, Body=body, "
    "ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode())) == \"OK\")",
    "    r = c.get_object(Bucket=bucket, Key=k)",
    "    check(\"get \" + k[:30], r[\"Body\"].read() == body)",
    "    r = c.get_object(Bucket=bucket, Key=k, Range=\"bytes=3-\", IfMatch=r[\"ETag\"])",
    "    check(\"range get with If-Match \" + k[:30], r[\"Body\"].read() == body[3:])",
    "    check(\"If-Match mismatch is 412\", code(lambda: c.get_object(Bucket=bucket, Key=k, "
    "IfMatch='\"00\"')) in (\"PreconditionFailed\", \"412\"))",
    "check(\"NoSuchKey\", code(lambda: c.get_object(Bucket=bucket, Key=\"missing\")) == "
    "\"NoSuchKey\")",
    "check(\"NoSuchBucket\", code(lambda: c.get_object(Bucket=\"bcr-missing-bucket\", Key=\"k\")) "
    "== \"NoSuchBucket\")",
    "lst = c.list_objects_v2(Bucket=bucket, Prefix=\"a b/\")",
    "check(\"list\", [o[\"Key\"] for o in lst.get(\"Contents\", [])] == [keys[1]], "
    "lst.get(\"Contents\"))",
    "# Multipart, as S3 does it.",
    "k = \"mp/ob j+1\"",
    "u = c.create_multipart_upload(Bucket=bucket, Key=k)[\"UploadId\"]",
    "p1 = c.upload_part(Bucket=bucket, Key=k, UploadId=u, PartNumber=1, Body=b\"a\" * (5 << "
    "20))[\"ETag\"]",
    "small = c.upload_part(Bucket=bucket, Key=k, UploadId=u, PartNumber=2, Body=b\"b\" * "
    "100)[\"ETag\"]",
    "p3 = c.upload_part(Bucket=bucket, Key=k, UploadId=u, PartNumber=3, Body=b\"c\" * "
    "10)[\"ETag\"]",
    "ups = c.list_multipart_uploads(Bucket=bucket).get(\"Uploads\", [])",
    "check(\"ListMultipartUploads\", [(x[\"Key\"], x[\"UploadId\"]) for x in ups] == [(k, u)], "
    "ups)",
    "check(\"control uploads\", [(x[\"key\"], x[\"upload_id\"], x[\"parts\"]) for x in "
    "control(\"GET\", \"/__control/uploads\")] == [(k, u, 3)])",
    "parts = lambda *ps: {\"Parts\": [{\"PartNumber\": n, \"ETag\": e} for n, e in ps]}",
    "check(\"InvalidPart\", code(lambda: c.complete_multipart_upload(Bucket=bucket, Key=k, "
    "UploadId=u, MultipartUpload=parts((1, p1), (3, '\"beef\"')))) == \"InvalidPart\")",
    "check(\"InvalidPartOrder\", code(lambda: c.complete_multipart_upload(Bucket=bucket, Key=k, "
    "UploadId=u, MultipartUpload=parts((3, p3), (1, p1)))) == \"InvalidPartOrder\")",
    "check(\"EntityTooSmall\", code(lambda: c.complete_multipart_upload(Bucket=bucket, Key=k, "
    "UploadId=u, MultipartUpload=parts((1, p1), (2, small), (3, p3)))) == \"EntityTooSmall\")",
    "check(\"NoSuchUpload (other key)\", code(lambda: c.upload_part(Bucket=bucket, Key=\"other\", "
    "UploadId=u, PartNumber=1, Body=b\"x\")) == \"NoSuchUpload\")",
    "check(\"complete\", code(lambda: c.complete_multipart_upload(Bucket=bucket, Key=k, "
    "UploadId=u, MultipartUpload=parts((1, p1), (3, p3)))) == \"OK\")",
    "check(\"completed object\", c.get_object(Bucket=bucket, Key=k)[\"Body\"].read() == b\"a\" * "
    "(5 << 20) + b\"c\" * 10)",
    "check(\"no upload after completion\", "
    "c.list_multipart_uploads(Bucket=bucket).get(\"Uploads\", []) == [])",
    "u = c.create_multipart_upload(Bucket=bucket, Key=k)[\"UploadId\"]",
    "c.upload_part(Bucket=bucket, Key=k, UploadId=u, PartNumber=1, Body=b\"z\")",
    "check(\"abort\", code(lambda: c.abort_multipart_upload(Bucket=bucket, Key=k, UploadId=u)) == "
    "\"OK\")",
    "check(\"abort again: NoSuchUpload\", code(lambda: c.abort_multipart_upload(Bucket=bucket, "
    "Key=k, UploadId=u)) == \"NoSuchUpload\")",
    "check(\"part after abort: NoSuchUpload\", code(lambda: c.upload_part(Bucket=bucket, Key=k, "
    "UploadId=u, PartNumber=2, Body=b\"z\")) == \"NoSuchUpload\")",
    "check(\"no upload after abort\", control(\"GET\", \"/__control/uploads\") == [])",
    "stats = control(\"GET\", \"/__control/stats\")",
    "check(\"no signature failure so far\", stats[\"signature_failures\"] == 0 and "
    "stats[\"credential_failures\"] == 0, stats[\"auth_failures\"])",
    "# Wrong credentials.",
    "check(\"wrong secret\", code(lambda: client(secret_=\"x\" + secret).get_object(Bucket=bucket, "
    "Key=\"plain.json\")) == \"SignatureDoesNotMatch\")",
    "check(\"wrong key id\", code(lambda: client(akid_=\"AKIAOTHER\").get_object(Bucket=bucket, "
    "Key=\"plain.json\")) == \"InvalidAccessKeyId\")",
    "check(\"wrong token\", code(lambda: client(token_=\"other\").get_object(Bucket=bucket, "
    "Key=\"plain.json\")) == \"InvalidToken\")",
    "check(\"no token\", code(lambda: client(token_=None).get_object(Bucket=bucket, "
    "Key=\"plain.json\")) == \"InvalidAccessKeyId\")",
    "# Requests signed correctly, then changed.",
    "creds = Credentials(akid, secret, token or None)",
    "def signed(method, path, body=b\"\", headers=None):",
    "    r = AWSRequest(method=method, url=endpoint + path, data=body, headers=dict(headers or "
    "{}))",
    "    S3SigV4Auth(creds, \"s3\", \"eu-west-2\").add_auth(r)",
    "    return r",
    "def send(r, path=None, body=None, add=None, drop=()):",
    "    h = {k: v for k, v in r.headers.items() if k not in drop}",
    "    h.update(add or {})",
    "    req = urllib.request.Request(endpoint + (path or r.url[len(endpoint):]), data=r.body if "
    "body is None else body, method=r.method, headers=h)",
    "    try:",
    "        with urllib.request.urlopen(req) as resp: return \"OK\"",
    "    except urllib.error.HTTPError as e:",
    "        m = re.search(rb\"<Code>(.*?)</Code>\", e.read()); return m.group(1).decode() if m "
    "else str(e.code)",
    "g = signed(\"GET\", "
    "\"/%s/a%%20b/c%%2Bd%%26e%%3Df%%25g%%3Fh%%23i/"
    "%%C3%%BCn%%C3%%AF%%20%%E2%%9C%%93%%20%%E6%%97%%A5%%E6%%9C%%AC.json\" % bucket)",
    "check(\"signed GET as is\", send(g) == \"OK\")",
    "check(\"GET, other path\", send(g, path=\"/%s/plain.json\" % bucket) == "
    "\"SignatureDoesNotMatch\")",
    "check(\"GET, unsigned x-amz header added\", send(g, add={\"x-amz-meta-x\": \"1\"}) == "
    "\"AccessDenied\")",
    "check(\"GET, no Authorization\", send(g, drop=(\"Authorization\",)) == \"AccessDenied\")",
    "check(\"GET, other date\", send(g, add={\"X-Amz-Date\": \"20200101T000000Z\"}) in "
    "(\"AuthorizationHeaderMalformed\", \"SignatureDoesNotMatch\", \"RequestTimeTooSkewed\"))",
    "q = signed(\"GET\", \"/%s?list-type=2&prefix=a%%20b\" % bucket)",
    "check(\"signed list as is\", send(q) == \"OK\")",
    "check(\"list, other query\", send(q, path=\"/%s?list-type=2&prefix=x\" % bucket) == "
    "\"SignatureDoesNotMatch\")",
    "p = signed(\"PUT\", \"/%s/tamper\" % bucket, b\"body1\", {\"Content-MD5\": "
    "base64.b64encode(hashlib.md5(b\"body1\").digest()).decode()})",
    "check(\"PUT, other body\", send(p, body=b\"body2\") == \"XAmzContentSHA256Mismatch\")",
    "p = signed(\"PUT\", \"/%s/tamper\" % bucket, b\"body1\", {\"Content-MD5\": "
    "base64.b64encode(hashlib.md5(b\"body9\").digest()).decode()})",
    "check(\"PUT, wrong Content-MD5\", send(p) == \"BadDigest\")",
    "p = signed(\"PUT\", \"/%s/tamper\" % bucket, b\"body1\", {\"x-amz-content-sha256\": "
    "\"UNSIGNED-PAYLOAD\"})",
    "# Over plain HTTP botocore hashes the body whatever the header asked: still signed.",
    "check(\"PUT, UNSIGNED-PAYLOAD asked, signed by botocore\", send(p) == \"OK\")",
    "stats = control(\"GET\", \"/__control/stats\")",
    "check(\"signature failures counted\", stats[\"signature_failures\"] == 8, "
    "stats[\"signature_failures\"])",
    "check(\"credential failures counted\", stats[\"credential_failures\"] == 3, "
    "stats[\"credential_failures\"])",
    "# Faults.",
    "control(\"POST\", \"/__control/reset\")",
    "control(\"POST\", \"/__control/faults\", [",
    "    {\"op\": \"GetObject\", \"key\": \"^plain\", \"action\": \"slowdown\"},",
    "    {\"op\": \"GetObject\", \"key\": \"^plain\", \"action\": \"internal\"},",
    "    {\"op\": \"GetObject\", \"key\": \"^plain\", \"action\": \"deny\"},",
    "    {\"op\": \"GetObject\", \"key\": \"^plain\", \"action\": \"error\", \"status\": 400, "
    "\"code\": \"InvalidRequest\"},",
    "    {\"op\": \"GetObject\", \"key\": \"^plain\", \"action\": \"reset\"},",
    "    {\"op\": \"GetObject\", \"key\": \"^mp/\", \"action\": \"cut\", \"after\": 1000},",
    "    {\"op\": \"GetObject\", \"key\": \"^mp/\", \"action\": \"stall\", \"ms\": 5000},",
    "    {\"op\": \"GetObject\", \"key\": \"^mp/\", \"action\": \"stall\", \"after\": 100, \"ms\": "
    "5000},",
    "    {\"op\": \"PutObject\", \"key\": \"^later$\", \"nth\": 2, \"count\": 2, \"action\": "
    "\"internal\"}])",
    "check(\"fault slowdown\", code(lambda: c.get_object(Bucket=bucket, Key=\"plain.json\")) == "
    "\"SlowDown\")",
    "check(\"fault internal\", code(lambda: c.get_object(Bucket=bucket, Key=\"plain.json\")) == "
    "\"InternalError\")",
    "check(\"fault deny\", code(lambda: c.get_object(Bucket=bucket, Key=\"plain.json\")) == "
    "\"AccessDenied\")",
    "check(\"fault error\", code(lambda: c.get_object(Bucket=bucket, Key=\"plain.json\")) == "
    "\"InvalidRequest\")",
    "check(\"fault reset\", code(lambda: c.get_object(Bucket=bucket, Key=\"plain.json\")) not in "
    "(\"OK\", \"NoSuchKey\"))",
    "check(\"faults used up\", code(lambda: c.get_object(Bucket=bucket, Key=\"plain.json\")) == "
    "\"OK\")",
    "def read_all(cl):",
    "    r = cl.get_object(Bucket=bucket, Key=\"mp/ob j+1\"); n = int(r[\"ContentLength\"]); b = "
    "r[\"Body\"].read()",
    "    return \"short\" if len(b) != n else \"OK\"",
    "check(\"fault cut\", code(lambda: read_all(c)) not in (\"OK\",))",
    "quick = client(read_timeout=1)",
    "check(\"fault stall\", code(lambda: read_all(quick)) not in (\"OK\",))",
    "check(\"fault stall after bytes\", code(lambda: read_all(quick)) not in (\"OK\",))",
    "check(\"no fault left for mp/\", read_all(c) == \"OK\")",
    "check(\"nth and count\", [code(lambda: c.put_object(Bucket=bucket, Key=\"later\", "
    "Body=b\"x\")) for _ in range(4)] == [\"OK\", \"InternalError\", \"InternalError\", \"OK\"])",
    "stats = control(\"GET\", \"/__control/stats\")",
    "check(\"faults counted\", stats[\"faults_injected\"] == 10 and stats[\"signature_failures\"] "
    "== 0, stats)",
    "check(\"totals kept\", stats[\"totals\"][\"signature_failures\"] == 8, stats[\"totals\"])",
    "print(\"%d failed\" % len(failed))",
    "sys.exit(1 if failed else 0)",
};

static int group_setup(void **state)
{
    (void)state;
    if (!s3env_node_available())
        return 0;
    struct s3env_options o = {.session_token = TOKEN};
    if (s3env_start(&env, &o) != 0)
        return -1;
    server_up = true;
    return s3env_create_bucket(&env, BUCKET);
}

static int group_teardown(void **state)
{
    (void)state;
    s3env_stop(&env);
    return 0;
}

static void test_proxy_with_botocore(void **state)
{
    (void)state;
    if (!server_up)
        skip();
    size_t len = 1;
    for (size_t i = 0; i < sizeof script_lines / sizeof script_lines[0]; i++)
        len += strlen(script_lines[i]) + 1;
    char *script = malloc(len);
    assert_non_null(script);
    script[0] = '\0';
    for (size_t i = 0; i < sizeof script_lines / sizeof script_lines[0]; i++) {
        strcat(script, script_lines[i]);
        strcat(script, "\n");
    }
    char *argv[] = {"/usr/bin/env", "python3",         "-c",   script, env.endpoint, env.access_key,
                    env.secret_key, env.session_token, BUCKET, NULL};
    struct proc_result res;
    proc_run(argv, NULL, NULL, 120, &res);
    if (res.status != 0)
        fprintf(stderr, "botocore check (needs python3 with botocore): exit %d\n%s%s\n", res.status,
                res.out, res.err);
    assert_int_equal(res.status, 0);
    assert_non_null(strstr(res.out, "\n0 failed\n"));
    proc_result_free(&res);
    free(script);
}

/* ---- flexible checksums, sent as the program will send them: signed with
 * the project's own signer, UNSIGNED-PAYLOAD with x-amz-checksum-crc32c, the
 * CRC from src/crc32c.c (the proxy computes its own) ---- */

struct reply {
    long status;
    char body[8192]; /* the start of it, NUL-terminated */
    size_t len;
    char etag[128]; /* the ETag header's value */
};

static size_t reply_body(char *p, size_t size, size_t n, void *ctx)
{
    struct reply *r = ctx;
    size_t room = sizeof r->body - 1 - r->len, take = n < room ? n : room;
    memcpy(r->body + r->len, p, take);
    r->len += take;
    r->body[r->len] = '\0';
    return size * n;
}

static size_t reply_header(char *p, size_t size, size_t n, void *ctx)
{
    struct reply *r = ctx;
    if (n > 6 && strncasecmp(p, "etag: ", 6) == 0)
        snprintf(r->etag, sizeof r->etag, "%.*s", (int)strcspn(p + 6, "\r\n"), p + 6);
    return size * n;
}

/* Signs and sends METHOD /BUCKET/KEY?QUERY with the body given and extra
 * headers ("name: value", signed), the payload hash being payload_hash or,
 * for NULL, the body's SHA-256. Fills *r; asserts on anything but S3's answer. */
static void send_signed(const char *method, const char *key, const struct sigv4_param *query,
                        size_t nquery, const char *const *headers, size_t nheaders,
                        const void *body, size_t len, const char *payload_hash, struct reply *r)
{
    char path[512], qs[512], hash[65], lines[8][160];
    struct sigv4_param sh[8];
    assert_true(nheaders <= 8);
    snprintf(path, sizeof path, "/%s/%s", BUCKET, key);
    assert_true(sigv4_canonical_query(query, nquery, qs, sizeof qs) >= 0);
    if (!payload_hash) {
        sigv4_sha256_hex(body, len, hash);
        payload_hash = hash;
    }
    for (size_t i = 0; i < nheaders; i++) {
        const char *colon = strchr(headers[i], ':');
        assert_non_null(colon);
        snprintf(lines[i], sizeof lines[i], "%.*s", (int)(colon - headers[i]), headers[i]);
        sh[i] = (struct sigv4_param){lines[i], colon + 2};
    }
    struct aws_credentials creds = {env.access_key, env.secret_key, env.session_token};
    const char *host = strstr(env.endpoint, "//") + 2;
    struct sigv4_request req = {.method = method,
                                .host = host,
                                .encoded_path = path,
                                .query = query,
                                .query_count = nquery,
                                .headers = sh,
                                .header_count = nheaders,
                                .payload_hash = payload_hash};
    struct sigv4_context ctx = {&creds, env.region, "s3", time(NULL)};
    struct sigv4_signature sig;
    struct error err = {0};
    assert_int_equal(sigv4_sign(&req, &ctx, &sig, &err), 0);

    char url[1200], line[2300];
    snprintf(url, sizeof url, "%s%s%s%s", env.endpoint, path, qs[0] ? "?" : "", qs);
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    snprintf(line, sizeof line, "Authorization: %s", sig.authorization);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof line, "x-amz-date: %s", sig.amz_date);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", payload_hash);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof line, "x-amz-security-token: %s", env.session_token);
    h = curl_slist_append(h, line);
    for (size_t i = 0; i < nheaders; i++)
        h = curl_slist_append(h, headers[i]);

    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, len ? body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reply_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, reply_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
}

/* The x-amz-checksum-crc32c header of n bytes. */
static void crc_header(const void *p, size_t n, char out[64])
{
    char b64[CRC32C_BASE64_SIZE];
    crc32c_base64(crc32c_update(0, p, n), b64);
    snprintf(out, 64, "x-amz-checksum-crc32c: %s", b64);
}

static void assert_s3_error(const struct reply *r, long status, const char *code_and_message)
{
    if (r->status != status || !strstr(r->body, code_and_message))
        fprintf(stderr, "expected %ld %s, got %ld %s\n", status, code_and_message, r->status,
                r->body);
    assert_int_equal(r->status, status);
    assert_non_null(strstr(r->body, code_and_message));
}

static void test_proxy_verifies_crc32c(void **state)
{
    (void)state;
    if (!server_up)
        skip();
    assert_int_equal(s3env_reset_stats(&env), 0);
    static const char body[] = "{\"results\": []}";
    char right[64], wrong[64];
    crc_header(body, sizeof body - 1, right);
    crc_header(body, sizeof body - 2, wrong);
    struct reply r;

    /* Unsigned payload with the right CRC-32C: stored. */
    send_signed("PUT", "crc/right", NULL, 0, (const char *[]){right}, 1, body, sizeof body - 1,
                SIGV4_UNSIGNED_PAYLOAD, &r);
    assert_int_equal(r.status, 200);
    size_t len = 0;
    char *got = s3env_get(&env, BUCKET, "crc/right", &len);
    assert_non_null(got);
    assert_int_equal(len, sizeof body - 1);
    assert_memory_equal(got, body, len);
    free(got);
    /* A signed SHA-256 and a CRC-32C together: both hold. */
    send_signed("PUT", "crc/both", NULL, 0, (const char *[]){right}, 1, body, sizeof body - 1, NULL,
                &r);
    assert_int_equal(r.status, 200);

    /* The wrong CRC-32C: S3's BadDigest, nothing stored. */
    send_signed("PUT", "crc/wrong", NULL, 0, (const char *[]){wrong}, 1, body, sizeof body - 1,
                SIGV4_UNSIGNED_PAYLOAD, &r);
    assert_s3_error(&r, 400,
                    "<Code>BadDigest</Code><Message>The CRC32C you specified did not match the "
                    "calculated checksum.</Message>");
    assert_null(s3env_get(&env, BUCKET, "crc/wrong", NULL));
    /* Unsigned and no checksum at all: refused (the proxy's own strictness). */
    send_signed("PUT", "crc/none", NULL, 0, NULL, 0, body, sizeof body - 1, SIGV4_UNSIGNED_PAYLOAD,
                &r);
    assert_s3_error(&r, 400, "<Code>InvalidRequest</Code>");
    assert_null(s3env_get(&env, BUCKET, "crc/none", NULL));
    /* What the program sends today, a signed SHA-256 alone, still passes. */
    send_signed("PUT", "crc/sha256", NULL, 0, NULL, 0, body, sizeof body - 1, NULL, &r);
    assert_int_equal(r.status, 200);

    assert_int_equal(s3env_stat(&env, "checksums_checked"), 2);
    assert_int_equal(s3env_stat(&env, "checksum_mismatches"), 1);
    assert_int_equal(s3env_stat(&env, "signature_failures"), 2);
}

/* A CompleteMultipartUpload request for parts 1 and 2, with the checksums given
 * (NULL: left out). */
static void complete_xml(char *out, size_t cap, const char *const etags[2],
                         const char *const sums[2])
{
    int n = snprintf(out, cap, "<CompleteMultipartUpload>");
    for (int i = 0; i < 2; i++)
        n += snprintf(out + n, cap - (size_t)n,
                      "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag>%s%s%s</Part>", i + 1,
                      etags[i], sums[i] ? "<ChecksumCRC32C>" : "", sums[i] ? sums[i] : "",
                      sums[i] ? "</ChecksumCRC32C>" : "");
    snprintf(out + n, cap - (size_t)n, "</CompleteMultipartUpload>");
}

static void test_proxy_multipart_crc32c(void **state)
{
    (void)state;
    if (!server_up)
        skip();
    const char *key = "crc/multipart";
    struct reply r;
    send_signed("POST", key, (struct sigv4_param[]){{"uploads", NULL}}, 1,
                (const char *[]){"x-amz-checksum-algorithm: CRC32C"}, 1, "", 0, NULL, &r);
    assert_int_equal(r.status, 200);
    char upload_id[128];
    const char *id = strstr(r.body, "<UploadId>");
    assert_non_null(id);
    snprintf(upload_id, sizeof upload_id, "%.*s", (int)strcspn(id + 10, "<"), id + 10);

    /* Part 1 at the minimum part size, part 2 small (the last may be). */
    size_t n1 = 5u << 20;
    char *p1 = malloc(n1);
    assert_non_null(p1);
    for (size_t i = 0; i < n1; i++)
        p1[i] = (char)('a' + i % 26);
    static const char p2[] = "the last part";
    char h1[64], h2[64];
    crc_header(p1, n1, h1);
    crc_header(p2, sizeof p2 - 1, h2);
    const char *sums[2] = {strchr(h1, ' ') + 1, strchr(h2, ' ') + 1};
    char etags[2][128];
    struct sigv4_param q1[] = {{"partNumber", "1"}, {"uploadId", upload_id}};
    struct sigv4_param q2[] = {{"partNumber", "2"}, {"uploadId", upload_id}};

    /* A part of this upload without its checksum: refused, as S3 does. */
    send_signed("PUT", key, q2, 2, NULL, 0, p2, sizeof p2 - 1, NULL, &r);
    assert_s3_error(&r, 400, "<Code>InvalidRequest</Code><Message>Checksum Type mismatch");
    send_signed("PUT", key, q1, 2, (const char *[]){h1}, 1, p1, n1, SIGV4_UNSIGNED_PAYLOAD, &r);
    assert_int_equal(r.status, 200);
    snprintf(etags[0], sizeof etags[0], "%s", r.etag);
    send_signed("PUT", key, q2, 2, (const char *[]){h2}, 1, p2, sizeof p2 - 1,
                SIGV4_UNSIGNED_PAYLOAD, &r);
    assert_int_equal(r.status, 200);
    snprintf(etags[1], sizeof etags[1], "%s", r.etag);

    struct sigv4_param qc[] = {{"uploadId", upload_id}};
    const char *const e[2] = {etags[0], etags[1]};
    char xml[1024];
    /* A part's checksum left out. */
    complete_xml(xml, sizeof xml, e, (const char *const[]){sums[0], NULL});
    send_signed("POST", key, qc, 1, NULL, 0, xml, strlen(xml), NULL, &r);
    assert_s3_error(&r, 400,
                    "<Code>InvalidRequest</Code><Message>The upload was created using a crc32c "
                    "checksum. The complete request must include the checksum for each part. It "
                    "was missing for part 2 in the request.</Message>");
    /* Another part's checksum. */
    complete_xml(xml, sizeof xml, e, (const char *const[]){sums[0], sums[0]});
    send_signed("POST", key, qc, 1, NULL, 0, xml, strlen(xml), NULL, &r);
    assert_s3_error(&r, 400, "<Code>InvalidPart</Code>");
    /* Each part's own: the object is made. */
    complete_xml(xml, sizeof xml, e, sums);
    send_signed("POST", key, qc, 1, NULL, 0, xml, strlen(xml), NULL, &r);
    assert_int_equal(r.status, 200);
    size_t len = 0;
    char *got = s3env_get(&env, BUCKET, key, &len);
    assert_non_null(got);
    assert_int_equal(len, n1 + sizeof p2 - 1);
    assert_memory_equal(got, p1, n1);
    assert_memory_equal(got + n1, p2, sizeof p2 - 1);
    free(got);
    free(p1);
}

/* Talking to s3rver directly: every byte of a key survives a put, get and list. */
static void test_s3env_helpers(void **state)
{
    (void)state;
    if (!server_up)
        skip();
    const char *keys[] = {"h/a b+c&d=e%f?g#h", "h/x//y", "h/ünï ✓/日本.json", "h/z"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(s3env_put(&env, BUCKET, keys[i], keys[i], strlen(keys[i])), 0);
    assert_int_equal(s3env_put(&env, BUCKET, "h/empty", "", 0), 0);
    for (size_t i = 0; i < 4; i++) {
        size_t len = 0;
        char *got = s3env_get(&env, BUCKET, keys[i], &len);
        assert_non_null(got);
        assert_int_equal(len, strlen(keys[i]));
        assert_memory_equal(got, keys[i], len);
        free(got);
    }
    size_t len = 99;
    char *empty = s3env_get(&env, BUCKET, "h/empty", &len);
    assert_non_null(empty);
    assert_int_equal(len, 0);
    free(empty);
    assert_null(s3env_get(&env, BUCKET, "h/missing", NULL));
    assert_null(s3env_get(&env, "bcr-no-such-bucket", "k", NULL));

    char **listed;
    int n = s3env_list(&env, BUCKET, "h/", &listed);
    /* s3rver keeps objects as files, so "h/x//y" lists as "h/x/y". */
    assert_int_equal(n, 5);
    assert_string_equal(listed[0], "h/a b+c&d=e%f?g#h");
    assert_string_equal(listed[1], "h/empty");
    assert_string_equal(listed[2], "h/x/y");
    assert_string_equal(listed[3], "h/z");
    assert_string_equal(listed[4], "h/ünï ✓/日本.json");
    assert_null(listed[5]);
    s3env_free_keys(listed);
    assert_int_equal(s3env_list(&env, "bcr-no-such-bucket", "", &listed), -1);

    assert_int_equal(s3env_count_uploads(&env, NULL), 0);
    assert_int_equal(s3env_set_faults(&env, "[{\"action\":\"no-such-action\"}]"), -1);
    assert_int_equal(s3env_set_faults(&env, "[{\"action\":\"slowdown\"}]"), 0);
    assert_int_equal(s3env_clear_faults(&env), 0);
    assert_int_equal(s3env_reset_stats(&env), 0);
    assert_int_equal(s3env_stat(&env, "requests"), 0);
    assert_int_equal(s3env_stat(&env, "no.such.counter"), 0);

    char *const *envp = s3env_env(&env, (char *const[]){"EXTRA=1", NULL});
    assert_string_equal(envp[0], "AWS_ACCESS_KEY_ID=" S3ENV_ACCESS_KEY);
    assert_string_equal(envp[2], "AWS_SESSION_TOKEN=" TOKEN);
    assert_string_equal(envp[3], "AWS_REGION=eu-west-2");
    assert_string_equal(envp[4], "EXTRA=1");
    assert_null(envp[5]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy_with_botocore),
        cmocka_unit_test(test_s3env_helpers),
        cmocka_unit_test(test_proxy_verifies_crc32c),
        cmocka_unit_test(test_proxy_multipart_crc32c),
    };
    return cmocka_run_group_tests_name("s3 test server", tests, group_setup, group_teardown);
}
