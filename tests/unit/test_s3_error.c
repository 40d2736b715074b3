/* S3 XML documents: error bodies (well-formed, entities, CDATA, namespaces,
 * missing parts, garbage, truncation) and botocore-style error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "mem.h"
#include "s3/error_doc.h"
#include "store.h"

static bool parse(const char *doc, struct s3_error_doc *out)
{
    return s3_error_parse(doc, strlen(doc), out);
}

static void test_well_formed(void **state)
{
    (void)state;
    struct s3_error_doc d;
    assert_true(parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<Error><Code>NoSuchKey</Code><Message>The specified key does not "
                      "exist.</Message><Key>a/b</Key><RequestId>4442587FB7D0A2F9</RequestId>"
                      "</Error>",
                      &d));
    assert_string_equal(d.code, "NoSuchKey");
    assert_string_equal(d.message, "The specified key does not exist.");
}

static void test_entities_and_cdata(void **state)
{
    (void)state;
    struct s3_error_doc d;
    assert_true(parse("<Error><Code>AccessDenied</Code><Message>a &amp; b &lt;c&gt; &quot;d&quot; "
                      "&apos;e&apos; &#65;&#x42; &#x20AC; &bogus; &#xZZ; &</Message></Error>",
                      &d));
    assert_string_equal(d.message, "a & b <c> \"d\" 'e' AB \xE2\x82\xAC &bogus; &#xZZ; &");
    assert_true(parse("<Error><Code><![CDATA[SlowDown]]></Code>"
                      "<Message>x<![CDATA[<raw>&amp;]]>y<!-- c --></Message></Error>",
                      &d));
    assert_string_equal(d.code, "SlowDown");
    assert_string_equal(d.message, "x<raw>&amp;y");
}

static void test_namespaces_attributes_whitespace(void **state)
{
    (void)state;
    struct s3_error_doc d;
    /* S3 may send blanks first (keep-alive while completing an upload). */
    assert_true(
        parse("   \n<!-- x --><s3:Error xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\""
              " a='>'>\n  <s3:Code attr=\"1\">InternalError</s3:Code>\n"
              "  <Message/>\n</s3:Error>",
              &d));
    assert_string_equal(d.code, "InternalError");
    assert_string_equal(d.message, "");
}

static void test_missing_code_and_not_error(void **state)
{
    (void)state;
    struct s3_error_doc d;
    assert_false(parse("<Error><Message>no code</Message></Error>", &d));
    assert_string_equal(d.message, "no code");
    assert_false(parse("<Error><Code></Code></Error>", &d));
    /* A proxy's HTML page is not an S3 error, whatever it contains. */
    assert_false(parse("<html><body><Code>Fake</Code></body></html>", &d));
    assert_false(parse("<CompleteMultipartUploadResult><Code>X</Code>"
                       "</CompleteMultipartUploadResult>",
                       &d));
}

static void test_garbage_and_truncated(void **state)
{
    (void)state;
    struct s3_error_doc d;
    assert_false(parse("", &d));
    assert_false(parse("not xml at all", &d));
    assert_false(parse("<", &d));
    assert_false(parse("<Error", &d));
    assert_false(parse("<Error><Code>NoSu", &d)); /* never a guessed, partial code */
    assert_string_equal(d.code, "");
    assert_false(parse("<Error><Code>A<Nested>B</Nested></Code></Error>", &d));
    /* A message cut short keeps its start. */
    assert_true(parse("<Error><Code>SlowDown</Code><Message>Please red", &d));
    assert_string_equal(d.code, "SlowDown");
    assert_string_equal(d.message, "Please red...");
    assert_false(parse("<?xml <!-- <![CDATA[", &d));
    /* Not NUL-terminated: only len bytes are looked at. */
    const char doc[] = "<Error><Code>AccessDenied</Code></Error>GARBAGE";
    assert_true(s3_error_parse(doc, strlen(doc) - 7, &d));
    assert_false(s3_error_parse(doc, 20, &d));
}

static void test_long_values_truncate_at_utf8_boundary(void **state)
{
    (void)state;
    char doc[4096];
    char msg[2000];
    /* 600 two-byte characters: more than S3_ERROR_MESSAGE_MAX bytes. */
    for (int i = 0; i < 600; i++)
        memcpy(msg + 2 * i, "\xC3\xA9", 2);
    msg[1200] = '\0';
    snprintf(doc, sizeof doc, "<Error><Code>%s</Code><Message>%s</Message></Error>",
             "ThisCodeIsWayTooLongToFitInSixtyFourBytesOfBufferSpaceSoItIsCutShort", msg);
    struct s3_error_doc d;
    s3_error_parse(doc, strlen(doc), &d);
    assert_true(strlen(d.code) < S3_ERROR_CODE_MAX);
    size_t n = strlen(d.message);
    assert_true(n > 0 && n < S3_ERROR_MESSAGE_MAX);
    assert_int_equal(n % 2, 0); /* no half character */
    assert_memory_equal(d.message + n - 2, "\xC3\xA9", 2);
}

/* A body cut at the store's limit inside a long Message still says what the
 * server meant, and the code after it falls back to the status's. */
static void test_long_message_cut_short(void **state)
{
    (void)state;
    enum { LEN = 70000 };
    char *doc = mem_check(malloc(LEN + 1));
    int n = snprintf(doc, LEN, "<Error><Code>AccessDenied</Code><Message>Start of a long story ");
    memset(doc + n, 'x', LEN - (size_t)n);
    doc[LEN] = '\0';
    struct s3_error_doc d;
    assert_true(s3_error_parse(doc, 64 * 1024, &d));
    assert_string_equal(d.code, "AccessDenied");
    assert_int_equal(strncmp(d.message, "Start of a long story xxx", 25), 0);
    assert_string_equal(d.message + strlen(d.message) - 4, "x...");
    assert_true(strlen(d.message) < S3_ERROR_MESSAGE_MAX);
    free(doc);
}

/* A code becomes an errorType: only [A-Za-z0-9.] is kept. */
static void test_code_sanitised(void **state)
{
    (void)state;
    struct s3_error_doc d;
    assert_true(
        parse("<Error><Code>Slow Down!&lt;script&gt;\"x\"\n\x01\xC3\xA9.v2</Code></Error>", &d));
    assert_string_equal(d.code, "SlowDownscriptx.v2");
    assert_false(parse("<Error><Code>&lt;&gt; !</Code></Error>", &d));
    assert_string_equal(d.code, "");
    char code[32];
    s3_error_code_for_status(302, S3_OP_GET_OBJECT, code, sizeof code);
    assert_string_equal(code, "TemporaryRedirect");
    s3_error_code_for_status(308, S3_OP_GET_OBJECT, code, sizeof code);
    assert_string_equal(code, "PermanentRedirect");
}

static void test_redact(void **state)
{
    (void)state;
    const char *const secrets[] = {"wJalrXUtnFEMI/K7MDENG", NULL, "short", "TOKEN123456789"};
    char text[256];
    snprintf(text, sizeof text,
             "key wJalrXUtnFEMI/K7MDENG twice wJalrXUtnFEMI/K7MDENGwJalrXUtnFEMI/K7MDENG, short "
             "stays, token at the end TOKEN1234");
    s3_redact(text, secrets, 4);
    assert_string_equal(text, "key [hidden] twice [hidden][hidden], short stays, token at the end "
                              "[hidden]");
    /* A secret that is the mark itself does not loop. */
    const char *const mark[] = {"[hidden]"};
    snprintf(text, sizeof text, "a [hidden] b");
    s3_redact(text, mark, 1);
    assert_string_equal(text, "a [hidden] b");
    /* Fewer than 8 bytes of a secret at the end are left. */
    snprintf(text, sizeof text, "ends in TOKEN12");
    s3_redact(text, secrets, 4);
    assert_string_equal(text, "ends in TOKEN12");
}

/* The forms a URL or XML carries a secret in: percent-encoded (either case of
 * hex, twice over), entities (decimal, hex, named, twice over), other case,
 * and a quote cut short in the middle of an escape. */
static void test_redact_encoded_forms(void **state)
{
    (void)state;
    const char *const secrets[] = {"wJalr/K7+MDENG=abc&d"};
    static const char *const forms[] = {
        "wJalr%2FK7%2BMDENG%3Dabc%26d",
        "wJalr%2fK7%2bMDENG%3dabc%26d",
        "wJalr%252FK7%252BMDENG%253Dabc%2526d",
        "wJalr&#47;K7&#43;MDENG&#61;abc&amp;d",
        "wJalr&#x2F;K7&#x2b;MDENG=abc&#38;d",
        "wJalr&amp;#47;K7&amp;#x2B;MDENG&amp;#61;abc&amp;amp;d",
        "WJALR/K7+mdeng=ABC&D",
        "w%4Aal%72/K7+MDENG=abc&d",
    };
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        char text[256];
        snprintf(text, sizeof text, "Location: https://x/?X-Amz-Security-Token=%s&next=1",
                 forms[i]);
        s3_redact(text, secrets, 1);
        if (strcmp(text, "Location: https://x/?X-Amz-Security-Token=[hidden]&next=1") != 0)
            fail_msg("form %zu not hidden: %s", i, text);
    }
    /* Cut short at the end, even inside an escape. */
    static const char *const cut[] = {"wJalr%2FK7%2", "wJalr%2FK7%", "wJalr&#x2F;K7&#x2"};
    for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
        char text[256];
        snprintf(text, sizeof text, "token=%s", cut[i]);
        s3_redact(text, secrets, 1);
        if (strcmp(text, "token=[hidden]") != 0)
            fail_msg("cut form %zu not hidden: %s", i, text);
    }
    /* Escapes that spell something else are left alone. */
    char text[64];
    snprintf(text, sizeof text, "wJalr%%2FK8 &amp; &#x2F; %%");
    s3_redact(text, secrets, 1);
    assert_string_equal(text, "wJalr%2FK8 &amp; &#x2F; %");
}

static void test_find_text_and_root(void **state)
{
    (void)state;
    const char *doc = "<?xml version=\"1.0\"?><InitiateMultipartUploadResult xmlns=\"x\">"
                      "<Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE&amp;+/=</UploadId>"
                      "</InitiateMultipartUploadResult>";
    char out[64];
    assert_true(s3_xml_root(doc, strlen(doc), out, sizeof out));
    assert_string_equal(out, "InitiateMultipartUploadResult");
    assert_true(s3_xml_find_text(doc, strlen(doc), "UploadId", out, sizeof out));
    assert_string_equal(out, "VXBsb2FkIElE&+/=");
    assert_false(s3_xml_find_text(doc, strlen(doc), "Upload", out, sizeof out));
    assert_false(s3_xml_root("  text only", 11, out, sizeof out));
    /* NUL bytes in a name: not an XML document S3 would send */
    assert_false(s3_xml_root("<\0\0>", 4, out, sizeof out));
    assert_false(s3_xml_root("<Error\0junk><Code>X</Code></Error>", 34, out, sizeof out));
    char small[4];
    assert_false(s3_xml_root(doc, strlen(doc), small, sizeof small));
}

static void test_code_for_status(void **state)
{
    (void)state;
    char code[32];
    s3_error_code_for_status(404, S3_OP_GET_OBJECT, code, sizeof code);
    assert_string_equal(code, "NoSuchKey");
    s3_error_code_for_status(404, S3_OP_UPLOAD_PART, code, sizeof code);
    assert_string_equal(code, "NotFound");
    s3_error_code_for_status(403, S3_OP_PUT_OBJECT, code, sizeof code);
    assert_string_equal(code, "AccessDenied");
    s3_error_code_for_status(503, S3_OP_PUT_OBJECT, code, sizeof code);
    assert_string_equal(code, "SlowDown");
    s3_error_code_for_status(500, S3_OP_PUT_OBJECT, code, sizeof code);
    assert_string_equal(code, "InternalError");
    s3_error_code_for_status(418, S3_OP_PUT_OBJECT, code, sizeof code);
    assert_string_equal(code, "418");
}

/* botocore's ClientError text exactly (MSG_TEMPLATE in botocore/exceptions.py),
 * the retry note where botocore puts it (before the colon), and the location
 * in where, never in the message. */
static void test_messages(void **state)
{
    (void)state;
    struct error err;
    assert_int_equal(s3_error_set(&err, "NoSuchKey", "NoSuchKey", "GetObject",
                                  "The specified key does not exist.", -1),
                     -1);
    s3_error_where(&err, "GetObject", "bkt", "a/b.json", 0, NULL);
    assert_string_equal(err.type, "NoSuchKey");
    assert_string_equal(err.message, "An error occurred (NoSuchKey) when calling the GetObject "
                                     "operation: The specified key does not exist.");
    assert_string_equal(err.message, NO_SUCH_KEY_MESSAGE);
    assert_string_equal(err.where, "GetObject s3://bkt/a/b.json");

    s3_error_set(&err, "SlowDown", "SlowDown", "GetObject", "Please reduce your request rate.", 2);
    s3_error_where(&err, "GetObject", "bkt", "k", 42, NULL);
    assert_string_equal(err.message, "An error occurred (SlowDown) when calling the GetObject "
                                     "operation (reached max retries: 2): Please reduce your "
                                     "request rate.");
    assert_string_equal(err.where, "GetObject s3://bkt/k at byte offset 42");

    s3_error_set(&err, "AccessDenied", "AccessDenied", "PutObject", "Access Denied", -1);
    assert_string_equal(err.type, "AccessDenied");
    assert_string_equal(err.message, "An error occurred (AccessDenied) when calling the PutObject "
                                     "operation: Access Denied");
    assert_string_equal(err.where, "");

    /* No Message: botocore's "Unknown". No error document: the status and
     * its reason phrase in the message, the code S3 would send as the type. */
    s3_error_set(&err, "InternalError", "InternalError", "UploadPart", "", -1);
    assert_string_equal(err.message, "An error occurred (InternalError) when calling the "
                                     "UploadPart operation: Unknown");
    s3_error_set(&err, "NotFound", "404", "HeadObject", http_reason(404), -1);
    assert_string_equal(err.type, "NotFound");
    assert_string_equal(err.message,
                        "An error occurred (404) when calling the HeadObject operation: Not Found");
    s3_error_where(&err, "GetObject", "b", "k", -1,
                   "HTTP 302 redirect to https://x/y, not followed");
    assert_string_equal(err.where,
                        "GetObject s3://b/k (HTTP 302 redirect to https://x/y, not followed)");
}

/* The reason phrases botocore quotes are Python's http.client ones. */
static void test_reason_phrases(void **state)
{
    (void)state;
    assert_string_equal(http_reason(403), "Forbidden");
    assert_string_equal(http_reason(302), "Found");
    assert_string_equal(http_reason(303), "See Other");
    assert_string_equal(http_reason(308), "Permanent Redirect");
    assert_string_equal(http_reason(503), "Service Unavailable");
    assert_string_equal(http_reason(599), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_well_formed),
        cmocka_unit_test(test_entities_and_cdata),
        cmocka_unit_test(test_namespaces_attributes_whitespace),
        cmocka_unit_test(test_missing_code_and_not_error),
        cmocka_unit_test(test_garbage_and_truncated),
        cmocka_unit_test(test_long_values_truncate_at_utf8_boundary),
        cmocka_unit_test(test_long_message_cut_short),
        cmocka_unit_test(test_code_sanitised),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_redact_encoded_forms),
        cmocka_unit_test(test_find_text_and_root),
        cmocka_unit_test(test_code_for_status),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_reason_phrases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
