/* The SigV4 signer: the published AWS test-suite and S3 documentation vectors,
 * the encoding rules, refusals, and a differential run against botocore's
 * S3SigV4Auth over randomised requests (tests/tools/sigv4_botocore.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "s3/sigv4.h"

extern char **environ;

/* ---- published vectors ---- */

/* aws-sig-v4-test-suite (as shipped in awslabs/aws-c-auth
 * tests/aws-signing-test-suite/v4 and in @aws-sdk/signature-v4's suite
 * fixture): every case shares these inputs. */
#define SUITE_AKID "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_TIME 1440938160 /* 2015-08-30T12:36:00Z */
#define SUITE_DATE "20150830T123600Z"
#define SUITE_SCOPE "20150830/us-east-1/service/aws4_request"
#define SUITE_CRED "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" SUITE_SCOPE ", "
#define HOST_HDR "host:example.amazonaws.com\n"
#define DATE_HDR "x-amz-date:20150830T123600Z\n"
#define EMPTY SIGV4_EMPTY_SHA256

/* The S3 API reference's worked examples ("Signature Calculations for the
 * Authorization Header: Transferring Payload in a Single Chunk"). */
#define S3DOC_AKID "AKIAIOSFODNN7EXAMPLE"
#define S3DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3DOC_TIME 1369353600 /* 2013-05-24T00:00:00Z */
#define S3DOC_DATE "20130524T000000Z"
#define S3DOC_SCOPE "20130524/us-east-1/s3/aws4_request"
#define S3DOC_CRED "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/" S3DOC_SCOPE ", "
#define S3DOC_HOST "host:examplebucket.s3.amazonaws.com\n"

#define STS_TOKEN                                                                                  \
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpS"  \
    "PfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYw" \
    "T7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKml" \
    "zm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
#define FORM_HASH "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
#define WELCOME_HASH "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"

struct vector {
    const char *name;
    bool s3;             /* S3 documentation example (else the generic suite) */
    bool content_sha256; /* x-amz-content-sha256 signed */
    const char *method;
    const char *raw_path; /* as on the suite's request line, unencoded */
    struct sigv4_param query[3];
    size_t query_count;
    struct sigv4_param headers[5];
    size_t header_count;
    const char *token;
    const char *payload_hash;
    const char *creq;
    const char *sts_hash; /* last line of the published string to sign, or NULL */
    const char *authorization;
};

static const struct vector vectors[] = {
    {.name = "get-vanilla",
     .method = "GET",
     .raw_path = "/",
     .payload_hash = EMPTY,
     .creq = "GET\n/\n\n" HOST_HDR DATE_HDR "\nhost;x-amz-date\n" EMPTY,
     .sts_hash = "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
     .authorization =
         SUITE_CRED "SignedHeaders=host;x-amz-date, "
                    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {.name = "get-vanilla-query-order-key-case",
     .method = "GET",
     .raw_path = "/",
     .query = {{"Param2", "value2"}, {"Param1", "value1"}},
     .query_count = 2,
     .payload_hash = EMPTY,
     .creq = "GET\n/\nParam1=value1&Param2=value2\n" HOST_HDR DATE_HDR "\nhost;x-amz-date\n" EMPTY,
     .sts_hash = "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
     .authorization =
         SUITE_CRED "SignedHeaders=host;x-amz-date, "
                    "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {.name = "get-vanilla-query-unreserved",
     .method = "GET",
     .raw_path = "/",
     .query = {{"-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}},
     .query_count = 1,
     .payload_hash = EMPTY,
     .creq = "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~"
             "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n" HOST_HDR DATE_HDR
             "\nhost;x-amz-date\n" EMPTY,
     .sts_hash = "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
     .authorization =
         SUITE_CRED "SignedHeaders=host;x-amz-date, "
                    "Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
    {.name = "get-vanilla-utf8-query",
     .method = "GET",
     .raw_path = "/",
     .query = {{"\xe1\x88\xb4", "bar"}},
     .query_count = 1,
     .payload_hash = EMPTY,
     .creq = "GET\n/\n%E1%88%B4=bar\n" HOST_HDR DATE_HDR "\nhost;x-amz-date\n" EMPTY,
     .sts_hash = "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
     .authorization =
         SUITE_CRED "SignedHeaders=host;x-amz-date, "
                    "Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
    {.name = "get-header-key-duplicate",
     .method = "GET",
     .raw_path = "/",
     .headers = {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
     .header_count = 3,
     .payload_hash = EMPTY,
     .creq = "GET\n/\n\n" HOST_HDR "my-header1:value2,value2,value1\n" DATE_HDR
             "\nhost;my-header1;x-amz-date\n" EMPTY,
     .sts_hash = "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
     .authorization =
         SUITE_CRED "SignedHeaders=host;my-header1;x-amz-date, "
                    "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
    {.name = "get-header-value-order",
     .method = "GET",
     .raw_path = "/",
     .headers = {{"My-Header1", "value4"},
                 {"My-Header1", "value1"},
                 {"My-Header1", "value3"},
                 {"My-Header1", "value2"}},
     .header_count = 4,
     .payload_hash = EMPTY,
     .creq = "GET\n/\n\n" HOST_HDR "my-header1:value4,value1,value3,value2\n" DATE_HDR
             "\nhost;my-header1;x-amz-date\n" EMPTY,
     .sts_hash = "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
     .authorization =
         SUITE_CRED "SignedHeaders=host;my-header1;x-amz-date, "
                    "Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
    {.name = "get-header-value-trim",
     .method = "GET",
     .raw_path = "/",
     .headers = {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
     .header_count = 2,
     .payload_hash = EMPTY,
     .creq = "GET\n/\n\n" HOST_HDR "my-header1:value1\nmy-header2:\"a b c\"\n" DATE_HDR
             "\nhost;my-header1;my-header2;x-amz-date\n" EMPTY,
     .sts_hash = "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
     .authorization =
         SUITE_CRED "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
                    "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {.name = "get-unreserved",
     .method = "GET",
     .raw_path = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
     .payload_hash = EMPTY,
     .creq = "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\n" HOST_HDR
         DATE_HDR "\nhost;x-amz-date\n" EMPTY,
     .sts_hash = "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
     .authorization =
         SUITE_CRED "SignedHeaders=host;x-amz-date, "
                    "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
    {.name = "get-utf8",
     .method = "GET",
     .raw_path = "/\xe1\x88\xb4",
     .payload_hash = EMPTY,
     .creq = "GET\n/%E1%88%B4\n\n" HOST_HDR DATE_HDR "\nhost;x-amz-date\n" EMPTY,
     .sts_hash = "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
     .authorization =
         SUITE_CRED "SignedHeaders=host;x-amz-date, "
                    "Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    /* The *-unnormalized variants are S3's rules: encoded once, no normalising. */
    {.name = "get-space-unnormalized",
     .method = "GET",
     .raw_path = "/example space/",
     .payload_hash = EMPTY,
     .creq = "GET\n/example%20space/\n\n" HOST_HDR DATE_HDR "\nhost;x-amz-date\n" EMPTY,
     .sts_hash = "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
     .authorization =
         SUITE_CRED "SignedHeaders=host;x-amz-date, "
                    "Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
    {.name = "get-slashes-unnormalized",
     .method = "GET",
     .raw_path = "//example//",
     .payload_hash = EMPTY,
     .creq = "GET\n//example//\n\n" HOST_HDR DATE_HDR "\nhost;x-amz-date\n" EMPTY,
     .sts_hash = "528ec3105ee1f34ab014bb0a1a45da0ed2742a4fea3555149e5b4d5d201eb240",
     .authorization =
         SUITE_CRED "SignedHeaders=host;x-amz-date, "
                    "Signature=87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"},
    {.name = "get-vanilla-with-session-token",
     .method = "GET",
     .raw_path = "/",
     .token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
     .payload_hash = EMPTY,
     .creq =
         "GET\n/\n\n" HOST_HDR DATE_HDR
         "x-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n"
         "\nhost;x-amz-date;x-amz-security-token\n" EMPTY,
     .sts_hash = "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
     .authorization =
         SUITE_CRED "SignedHeaders=host;x-amz-date;x-amz-security-token, "
                    "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"},
    {.name = "post-vanilla",
     .method = "POST",
     .raw_path = "/",
     .payload_hash = EMPTY,
     .creq = "POST\n/\n\n" HOST_HDR DATE_HDR "\nhost;x-amz-date\n" EMPTY,
     .sts_hash = "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
     .authorization =
         SUITE_CRED "SignedHeaders=host;x-amz-date, "
                    "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    /* post-header-key-case only varies the case of Host and X-Amz-Date, which
     * the signer writes itself: the same canonical request as post-vanilla. */
    {.name = "post-header-key-case",
     .method = "POST",
     .raw_path = "/",
     .payload_hash = EMPTY,
     .creq = "POST\n/\n\n" HOST_HDR DATE_HDR "\nhost;x-amz-date\n" EMPTY,
     .authorization =
         SUITE_CRED "SignedHeaders=host;x-amz-date, "
                    "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {.name = "post-vanilla-query",
     .method = "POST",
     .raw_path = "/",
     .query = {{"Param1", "value1"}},
     .query_count = 1,
     .payload_hash = EMPTY,
     .creq = "POST\n/\nParam1=value1\n" HOST_HDR DATE_HDR "\nhost;x-amz-date\n" EMPTY,
     .sts_hash = "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
     .authorization =
         SUITE_CRED "SignedHeaders=host;x-amz-date, "
                    "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
    {.name = "post-header-key-sort",
     .method = "POST",
     .raw_path = "/",
     .headers = {{"My-Header1", "value1"}},
     .header_count = 1,
     .payload_hash = EMPTY,
     .creq = "POST\n/\n\n" HOST_HDR "my-header1:value1\n" DATE_HDR
             "\nhost;my-header1;x-amz-date\n" EMPTY,
     .sts_hash = "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
     .authorization =
         SUITE_CRED "SignedHeaders=host;my-header1;x-amz-date, "
                    "Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
    {.name = "post-header-value-case",
     .method = "POST",
     .raw_path = "/",
     .headers = {{"My-Header1", "VALUE1"}},
     .header_count = 1,
     .payload_hash = EMPTY,
     .creq = "POST\n/\n\n" HOST_HDR "my-header1:VALUE1\n" DATE_HDR
             "\nhost;my-header1;x-amz-date\n" EMPTY,
     .authorization =
         SUITE_CRED "SignedHeaders=host;my-header1;x-amz-date, "
                    "Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
    {.name = "post-sts-header-before",
     .method = "POST",
     .raw_path = "/",
     .token = STS_TOKEN,
     .payload_hash = EMPTY,
     .creq = "POST\n/\n\n" HOST_HDR DATE_HDR "x-amz-security-token:" STS_TOKEN
             "\n\nhost;x-amz-date;x-amz-security-token\n" EMPTY,
     .sts_hash = "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
     .authorization =
         SUITE_CRED "SignedHeaders=host;x-amz-date;x-amz-security-token, "
                    "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
    /* The aws-c-auth variants that sign the body hash, as S3 does. */
    {.name = "post-x-www-form-urlencoded",
     .content_sha256 = true,
     .method = "POST",
     .raw_path = "/",
     .headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Content-Length", "13"}},
     .header_count = 2,
     .payload_hash = FORM_HASH,
     .creq =
         "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\n" HOST_HDR
         "x-amz-content-sha256:" FORM_HASH "\n" DATE_HDR
         "\ncontent-length;content-type;host;x-amz-content-sha256;x-amz-date\n" FORM_HASH,
     .sts_hash = "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
     .authorization = SUITE_CRED
     "SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, "
     "Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"},
    {.name = "post-x-www-form-urlencoded-parameters",
     .content_sha256 = true,
     .method = "POST",
     .raw_path = "/",
     .headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                 {"Content-Length", "13"}},
     .header_count = 2,
     .payload_hash = FORM_HASH,
     .creq = "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded; "
             "charset=utf-8\n" HOST_HDR "x-amz-content-sha256:" FORM_HASH "\n" DATE_HDR
             "\ncontent-length;content-type;host;x-amz-content-sha256;x-amz-date\n" FORM_HASH,
     .sts_hash = "a89f1a5b53e37702ee6363ce1da3ce8f54386f3c8f352ae652153c2982a0bc4d",
     .authorization = SUITE_CRED
     "SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, "
     "Signature=328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422"},
    /* S3 documentation: GET Object with a Range. */
    {.name = "s3-get-object",
     .s3 = true,
     .content_sha256 = true,
     .method = "GET",
     .raw_path = "/test.txt",
     .headers = {{"Range", "bytes=0-9"}},
     .header_count = 1,
     .payload_hash = EMPTY,
     .creq = "GET\n/test.txt\n\n" S3DOC_HOST "range:bytes=0-9\nx-amz-content-sha256:" EMPTY
             "\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n" EMPTY,
     .sts_hash = "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
     .authorization =
         S3DOC_CRED "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
    /* PUT Object: '$' in the key is encoded; Date is signed as an extra header. */
    {.name = "s3-put-object",
     .s3 = true,
     .content_sha256 = true,
     .method = "PUT",
     .raw_path = "/test$file.text",
     .headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                 {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
     .header_count = 2,
     .payload_hash = WELCOME_HASH,
     .creq = "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n" S3DOC_HOST
             "x-amz-content-sha256:" WELCOME_HASH "\nx-amz-date:20130524T000000Z\n"
             "x-amz-storage-class:REDUCED_REDUNDANCY\n\n"
             "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n" WELCOME_HASH,
     .sts_hash = "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
     .authorization =
         S3DOC_CRED "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
                    "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
    /* GET Bucket Lifecycle: a valueless parameter signs as "lifecycle=". */
    {.name = "s3-get-bucket-lifecycle",
     .s3 = true,
     .content_sha256 = true,
     .method = "GET",
     .raw_path = "/",
     .query = {{"lifecycle", ""}},
     .query_count = 1,
     .payload_hash = EMPTY,
     .creq = "GET\n/\nlifecycle=\n" S3DOC_HOST "x-amz-content-sha256:" EMPTY
             "\nx-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n" EMPTY,
     .sts_hash = "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
     .authorization =
         S3DOC_CRED "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                    "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"},
    /* Get Bucket (List Objects): parameters sorted. */
    {.name = "s3-list-objects",
     .s3 = true,
     .content_sha256 = true,
     .method = "GET",
     .raw_path = "/",
     .query = {{"prefix", "J"}, {"max-keys", "2"}},
     .query_count = 2,
     .payload_hash = EMPTY,
     .creq = "GET\n/\nmax-keys=2&prefix=J\n" S3DOC_HOST "x-amz-content-sha256:" EMPTY
             "\nx-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n" EMPTY,
     .authorization =
         S3DOC_CRED "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                    "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
};

static void test_published_vectors(void **state)
{
    (void)state;
    static char creq[8192], sts[1024], path[1024], want_sts[512];
    for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++) {
        const struct vector *v = &vectors[i];
        print_message("%s\n", v->name);
        struct aws_credentials creds = {(char *)(v->s3 ? S3DOC_AKID : SUITE_AKID),
                                        (char *)(v->s3 ? S3DOC_SECRET : SUITE_SECRET),
                                        (char *)v->token};
        struct sigv4_context ctx = {&creds, "us-east-1", v->s3 ? "s3" : "service",
                                    v->s3 ? S3DOC_TIME : SUITE_TIME};
        assert_true(sigv4_uri_encode(v->raw_path, strlen(v->raw_path), true, path, sizeof path) >
                    0);
        struct sigv4_request req = {
            .method = v->method,
            .host = v->s3 ? "examplebucket.s3.amazonaws.com" : "example.amazonaws.com",
            .encoded_path = path,
            .query = v->query,
            .query_count = v->query_count,
            .headers = v->headers,
            .header_count = v->header_count,
            .payload_hash = v->payload_hash,
            .omit_content_sha256 = !v->content_sha256,
        };
        const char *date = v->s3 ? S3DOC_DATE : SUITE_DATE;

        int n = sigv4_canonical_request(&req, &ctx, date, creq, sizeof creq);
        assert_int_equal(n, (int)strlen(v->creq));
        assert_string_equal(creq, v->creq);
        if (v->sts_hash) {
            snprintf(want_sts, sizeof want_sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", date,
                     v->s3 ? S3DOC_SCOPE : SUITE_SCOPE, v->sts_hash);
            assert_int_equal(sigv4_string_to_sign(&req, &ctx, date, sts, sizeof sts),
                             (int)strlen(want_sts));
            assert_string_equal(sts, want_sts);
        }

        struct sigv4_signature sig;
        struct error err = {0};
        assert_int_equal(sigv4_sign(&req, &ctx, &sig, &err), 0);
        assert_false(error_is_set(&err));
        assert_string_equal(sig.amz_date, date);
        assert_string_equal(sig.authorization, v->authorization);
    }
}

static void test_sha256_hex(void **state)
{
    (void)state;
    char out[65];
    sigv4_sha256_hex("", 0, out);
    assert_string_equal(out, SIGV4_EMPTY_SHA256);
    sigv4_sha256_hex("abc", 3, out); /* FIPS 180-2, appendix B.1 */
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sigv4_sha256_hex("Welcome to Amazon S3.", 21, out); /* the S3 PUT example's body */
    assert_string_equal(out, WELCOME_HASH);
    sigv4_sha256_hex("Param1=value1", 13, out); /* the suite's form body */
    assert_string_equal(out, FORM_HASH);
}

static void test_uri_encode(void **state)
{
    (void)state;
    char out[128];
    const char unreserved[] = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    assert_int_equal(sigv4_uri_encode(unreserved, strlen(unreserved), false, out, sizeof out),
                     (int)strlen(unreserved));
    assert_string_equal(out, unreserved);

    static const struct {
        const char *in;
        size_t len;
        bool keep_slash;
        const char *want;
    } cases[] = {
        {"a b", 3, false, "a%20b"},
        {"a+b=c&d", 7, false, "a%2Bb%3Dc%26d"},
        {"/a/b//c/", 8, true, "/a/b//c/"},
        {"/a/b", 4, false, "%2Fa%2Fb"},
        {"100%", 4, true, "100%25"},
        {"\xe1\x88\xb4", 3, true, "%E1%88%B4"},
        {"\0\xff", 2, false, "%00%FF"},
        {"!'()*", 5, false, "%21%27%28%29%2A"},
        {"", 0, false, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int n = sigv4_uri_encode(cases[i].in, cases[i].len, cases[i].keep_slash, out, sizeof out);
        assert_int_equal(n, (int)strlen(cases[i].want));
        assert_string_equal(out, cases[i].want);
    }

    /* Exactly enough room (text and NUL), then one byte short. */
    assert_int_equal(sigv4_uri_encode("a b", 3, false, out, 6), 5);
    assert_string_equal(out, "a%20b");
    assert_int_equal(sigv4_uri_encode("a b", 3, false, out, 5), -1);
    assert_string_equal(out, "");
    assert_int_equal(sigv4_uri_encode("a", 1, false, out, 0), -1);
}

static void test_canonical_query(void **state)
{
    (void)state;
    char out[256];
    const struct sigv4_param dup[] = {{"prefix", "b/"}, {"list-type", "2"}, {"prefix", "a/"}};
    assert_int_equal(sigv4_canonical_query(dup, 3, out, sizeof out), 35);
    assert_string_equal(out, "list-type=2&prefix=a%2F&prefix=b%2F");

    const struct sigv4_param mpu[] = {{"uploadId", "a/b+c=="}, {"partNumber", "2"}};
    assert_true(sigv4_canonical_query(mpu, 2, out, sizeof out) > 0);
    assert_string_equal(out, "partNumber=2&uploadId=a%2Fb%2Bc%3D%3D");

    const struct sigv4_param uploads[] = {{"uploads", ""}};
    assert_int_equal(sigv4_canonical_query(uploads, 1, out, sizeof out), 8);
    assert_string_equal(out, "uploads=");
    const struct sigv4_param uploads_null[] = {{"uploads", NULL}};
    assert_int_equal(sigv4_canonical_query(uploads_null, 1, out, sizeof out), 8);
    assert_string_equal(out, "uploads=");

    /* Sorted by the encoded name: "%C3%A9" before "~", the reverse of the raw
     * byte order ('~' is 0x7E, 0xC3 is above it). */
    const struct sigv4_param enc[] = {{"~", "1"}, {"\xc3\xa9", "2"}};
    assert_true(sigv4_canonical_query(enc, 2, out, sizeof out) > 0);
    assert_string_equal(out, "%C3%A9=2&~=1");

    assert_int_equal(sigv4_canonical_query(NULL, 0, out, sizeof out), 0);
    assert_string_equal(out, "");

    assert_int_equal(sigv4_canonical_query(uploads, 1, out, 9), 8);
    assert_int_equal(sigv4_canonical_query(uploads, 1, out, 8), -1);
    assert_string_equal(out, "");
    const struct sigv4_param no_name[] = {{NULL, "x"}};
    assert_int_equal(sigv4_canonical_query(no_name, 1, out, sizeof out), -1);
}

static void test_amz_date(void **state)
{
    (void)state;
    char out[17];
    assert_int_equal(sigv4_amz_date(0, out), 0);
    assert_string_equal(out, "19700101T000000Z");
    assert_int_equal(sigv4_amz_date(951782400, out), 0); /* a leap day */
    assert_string_equal(out, "20000229T000000Z");
    assert_int_equal(sigv4_amz_date((time_t)4102444799LL, out), 0);
    assert_string_equal(out, "20991231T235959Z");
    assert_int_equal(sigv4_amz_date(-1, out), 0);
    assert_string_equal(out, "19691231T235959Z");
    assert_int_equal(sigv4_amz_date((time_t)253402300800LL, out), -1); /* year 10000 */
    assert_string_equal(out, "");
}

/* ---- refusals ---- */

static const struct aws_credentials test_creds = {"AKIDEXAMPLE", "sEcReTvAlUe/with+chars", NULL};

static struct sigv4_request basic_request(void)
{
    return (struct sigv4_request){.method = "GET",
                                  .host = "bucket.s3.eu-west-2.amazonaws.com",
                                  .encoded_path = "/key",
                                  .payload_hash = SIGV4_EMPTY_SHA256};
}

/* Signs and expects a ConfigurationError whose message has `fragment` and
 * never the secret. */
static void expect_refused(const struct sigv4_request *req, const struct sigv4_context *ctx,
                           const char *fragment)
{
    struct sigv4_signature sig;
    struct error err = {0};
    assert_int_equal(sigv4_sign(req, ctx, &sig, &err), -1);
    assert_string_equal(err.type, ERR_CONFIG);
    if (!strstr(err.message, fragment))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, fragment);
    assert_null(strstr(err.message, test_creds.secret_access_key));
    assert_string_equal(sig.authorization, "");
    char creq[512];
    assert_int_equal(sigv4_canonical_request(req, ctx, "20240101T000000Z", creq, sizeof creq), -1);
}

static void test_refusals(void **state)
{
    (void)state;
    struct sigv4_context ctx = {&test_creds, "eu-west-2", "s3", 1700000000};
    struct sigv4_request req;

    static const char *const reserved[] = {"Host", "X-Amz-Date", "x-amz-content-sha256",
                                           "X-AMZ-SECURITY-TOKEN", "authorization"};
    for (size_t i = 0; i < 5; i++) {
        struct sigv4_param h[] = {{"x-amz-meta-a", "1"}, {reserved[i], "v"}};
        req = basic_request();
        req.headers = h;
        req.header_count = 2;
        expect_refused(&req, &ctx, "is set by the signer");
    }
    static const char *const bad_names[] = {"", "my header", "my:header", "my\theader",
                                            "caf\xc3\xa9"};
    for (size_t i = 0; i < 5; i++) {
        struct sigv4_param h[] = {{bad_names[i], "v"}};
        req = basic_request();
        req.headers = h;
        req.header_count = 1;
        expect_refused(&req, &ctx, "header 0");
    }
    static const char *const bad_values[] = {"a\r\nInjected: 1", "a\nb", "\x01", "del\x7f"};
    for (size_t i = 0; i < 4; i++) {
        struct sigv4_param h[] = {{"x-amz-meta-a", bad_values[i]}};
        req = basic_request();
        req.headers = h;
        req.header_count = 1;
        expect_refused(&req, &ctx, "control character");
    }
    static const char *const bad_paths[] = {"",     "key",  "/a b", "/a%2f",
                                            "/a%2", "/a?b", "/a#b", "/caf\xc3\xa9"};
    for (size_t i = 0; i < 8; i++) {
        req = basic_request();
        req.encoded_path = bad_paths[i];
        expect_refused(&req, &ctx, "URI-encoded");
    }
    req = basic_request();
    req.encoded_path = NULL;
    expect_refused(&req, &ctx, "URI-encoded");

    static const char *const bad_hashes[] = {"", "unsigned-payload", SIGV4_EMPTY_SHA256 "0",
                                             "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA4"
                                             "95991B7852B855"};
    for (size_t i = 0; i < 4; i++) {
        req = basic_request();
        req.payload_hash = bad_hashes[i];
        expect_refused(&req, &ctx, "payload hash");
    }
    req = basic_request();
    req.method = "get";
    expect_refused(&req, &ctx, "uppercase");
    req = basic_request();
    req.host = "bucket .s3";
    expect_refused(&req, &ctx, "Host");
    req = basic_request();
    req.query_count = 1;
    expect_refused(&req, &ctx, "query_count");

    req = basic_request();
    struct sigv4_context bad = ctx;
    bad.region = "eu-west-2/x";
    expect_refused(&req, &bad, "region");
    bad = ctx;
    bad.region = "";
    expect_refused(&req, &bad, "region");
    bad = ctx;
    bad.service = NULL;
    expect_refused(&req, &bad, "service");

    /* Credentials only matter to sigv4_sign. */
    struct sigv4_signature sig;
    struct error err = {0};
    struct aws_credentials no_secret = {"AKIDEXAMPLE", NULL, NULL};
    bad = ctx;
    bad.credentials = &no_secret;
    assert_int_equal(sigv4_sign(&req, &bad, &sig, &err), -1);
    assert_string_equal(err.type, ERR_CONFIG);
    struct aws_credentials bad_id = {"AKID/EXAMPLE", "secret", NULL};
    bad.credentials = &bad_id;
    assert_int_equal(sigv4_sign(&req, &bad, &sig, &err), -1);
    assert_non_null(strstr(err.message, "access key id"));
    struct aws_credentials bad_token = {"AKIDEXAMPLE", "secret", "tok\nen"};
    bad.credentials = &bad_token;
    assert_int_equal(sigv4_sign(&req, &bad, &sig, &err), -1);
    assert_non_null(strstr(err.message, "session token"));
    assert_null(strstr(err.message, "tok\nen"));
    bad = ctx;
    bad.now = (time_t)253402300800LL;
    assert_int_equal(sigv4_sign(&req, &bad, &sig, &err), -1);
    assert_non_null(strstr(err.message, "0000-9999"));

    char creq[512];
    req = basic_request();
    assert_int_equal(sigv4_canonical_request(&req, &ctx, "2024-01-01T00:00:00Z", creq, sizeof creq),
                     -1);
    assert_int_equal(sigv4_canonical_request(&req, &ctx, NULL, creq, sizeof creq), -1);
}

static void test_authorization_overflow_is_an_error(void **state)
{
    (void)state;
    /* 60 signed header names of 20 characters cannot fit in 1023. */
    enum { N = 60 };
    static char names[N][24];
    struct sigv4_param h[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "x-amz-meta-long-%04d", i);
        h[i] = (struct sigv4_param){names[i], "v"};
    }
    struct sigv4_context ctx = {&test_creds, "eu-west-2", "s3", 1700000000};
    struct sigv4_request req = basic_request();
    req.headers = h;
    req.header_count = N;
    struct sigv4_signature sig;
    struct error err = {0};
    assert_int_equal(sigv4_sign(&req, &ctx, &sig, &err), -1);
    assert_string_equal(err.type, ERR_CONFIG);
    assert_non_null(strstr(err.message, "Authorization header would be"));
    assert_string_equal(sig.authorization, "");

    /* The canonical request itself is fine, and reports its exact size. */
    static char creq[8192];
    int n = sigv4_canonical_request(&req, &ctx, "20231114T221320Z", creq, sizeof creq);
    assert_true(n > 0);
    assert_int_equal(sigv4_canonical_request(&req, &ctx, "20231114T221320Z", creq, (size_t)n + 1),
                     n);
    assert_int_equal(sigv4_canonical_request(&req, &ctx, "20231114T221320Z", creq, (size_t)n), -1);
    assert_string_equal(creq, "");
}

static void test_session_token(void **state)
{
    (void)state;
    struct sigv4_request req = basic_request();
    struct sigv4_signature sig;
    struct error err = {0};
    char creq[1024];

    struct aws_credentials with = {"ASIAEXAMPLE", "secret", "  the  token "};
    struct sigv4_context ctx = {&with, "eu-west-2", "s3", 1700000000};
    assert_int_equal(sigv4_sign(&req, &ctx, &sig, &err), 0);
    assert_non_null(strstr(sig.authorization, "SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
                                              "x-amz-security-token, Signature="));
    assert_true(sigv4_canonical_request(&req, &ctx, sig.amz_date, creq, sizeof creq) > 0);
    /* Canonicalised like every other header value. */
    assert_non_null(strstr(creq, "\nx-amz-security-token:the token\n"));

    /* An empty token is no token (botocore treats it so too). */
    struct aws_credentials empty = {"ASIAEXAMPLE", "secret", ""};
    ctx.credentials = &empty;
    assert_int_equal(sigv4_sign(&req, &ctx, &sig, &err), 0);
    assert_non_null(
        strstr(sig.authorization, "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "));
    assert_true(sigv4_canonical_request(&req, &ctx, sig.amz_date, creq, sizeof creq) > 0);
    assert_null(strstr(creq, "security-token"));

    /* The token changes the signature; the secret does too. */
    char with_sig[1024];
    ctx.credentials = &with;
    assert_int_equal(sigv4_sign(&req, &ctx, &sig, &err), 0);
    memcpy(with_sig, sig.authorization, sizeof with_sig);
    struct aws_credentials other = {"ASIAEXAMPLE", "secret", "  the  token2 "};
    ctx.credentials = &other;
    assert_int_equal(sigv4_sign(&req, &ctx, &sig, &err), 0);
    assert_string_not_equal(sig.authorization, with_sig);
}

/* ---- differential against botocore ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t rnd_below(size_t n)
{
    return (size_t)(rnd() % n);
}

/* A growable byte string for building random inputs. */
struct bytes {
    char *p;
    size_t len, cap;
};

static void bytes_add(struct bytes *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void bytes_str(struct bytes *b, const char *s)
{
    bytes_add(b, s, strlen(s));
}

/* Pieces that trip encoders: reserved characters, '%' and things that look
 * encoded, multi-byte UTF-8, dot segments and doubled slashes. */
/* clang-format off */
static const char *const nasty[] = {
    " ", "+", "&", "=", "%", "?", "#", "/", "//", "~", "-", "_", ".", "..", ":", "@", "!", "*",
    "'", "(", ")", "\\", "\"", "<", ">", "^", "`", "{", "}", "|", "[", "]", ";", ",", "$",
    "a", "Z", "0", "9", "%2F", "%20", "%%", "\t", "results.json", "part-00001",
    "\xc3\xa9", "\xe1\x88\xb4", "\xf0\x9f\x98\x80", "\xe2\x80\x8b",
};
/* clang-format on */

static void add_nasty(struct bytes *b, size_t pieces)
{
    for (size_t i = 0; i < pieces; i++)
        bytes_str(b, nasty[rnd_below(sizeof nasty / sizeof *nasty)]);
}

/* Any bytes; NUL only when allow_nul (the path has a length, C strings do not). */
static void add_any(struct bytes *b, size_t n, bool allow_nul)
{
    for (size_t i = 0; i < n; i++) {
        char c = (char)rnd_below(256);
        if (c == '\0' && !allow_nul)
            c = '\x01';
        bytes_add(b, &c, 1);
    }
}

static char *rand_text(void)
{
    struct bytes b = {0};
    bytes_str(&b, "");
    switch (rnd_below(4)) {
    case 0:
        add_nasty(&b, rnd_below(8));
        break;
    case 1:
        add_any(&b, rnd_below(24), false);
        break;
    case 2:
        add_nasty(&b, 1 + rnd_below(200));
        break;
    default:
        bytes_str(&b, rnd_below(2) ? "2" : "consignments/");
    }
    return b.p;
}

static void add_from(struct bytes *b, const char *alphabet, size_t n)
{
    size_t k = strlen(alphabet);
    for (size_t i = 0; i < n; i++)
        bytes_add(b, &alphabet[rnd_below(k)], 1);
}

#define B64 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#define TCHAR "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* A header value: visible ASCII with leading, trailing and inner runs of
 * spaces and tabs (values are ASCII: botocore's trim splits on Unicode
 * whitespace too, which HTTP does not define). */
static char *rand_header_value(void)
{
    struct bytes b = {0};
    bytes_str(&b, "");
    size_t words = rnd_below(5);
    for (size_t i = 0; i < words; i++) {
        if (i > 0 || rnd_below(3) == 0)
            add_from(&b, " \t", 1 + rnd_below(4));
        char c;
        size_t n = 1 + rnd_below(12);
        for (size_t j = 0; j < n; j++) {
            c = (char)(0x21 + rnd_below(0x7e - 0x21 + 1));
            bytes_add(&b, &c, 1);
        }
    }
    if (rnd_below(3) == 0)
        add_from(&b, " \t", 1 + rnd_below(3));
    return b.p;
}

enum { MAX_PARAMS = 12, MAX_HEADERS = 10 };

struct dcase {
    const char *method;
    const char *host;
    struct bytes path; /* raw */
    struct sigv4_param params[MAX_PARAMS];
    size_t nparams;
    struct sigv4_param headers[MAX_HEADERS];
    size_t nheaders;
    struct bytes body;
    bool unsigned_payload;
    struct aws_credentials creds;
    const char *region;
    const char *service;
    time_t now;
};

static char *dup_str(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

static void add_param(struct dcase *c, char *name, char *value)
{
    assert_true(c->nparams < MAX_PARAMS);
    c->params[c->nparams++] = (struct sigv4_param){name, value};
}

static void add_header(struct dcase *c, char *name, char *value)
{
    assert_true(c->nheaders < MAX_HEADERS);
    c->headers[c->nheaders++] = (struct sigv4_param){name, value};
}

static char *rand_alnum(const char *prefix, size_t n)
{
    struct bytes b = {0};
    bytes_str(&b, prefix);
    add_from(&b, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", n);
    return b.p;
}

static void make_case(struct dcase *c)
{
    static const char *const methods[] = {"GET", "PUT", "POST", "DELETE", "HEAD"};
    static const char *const hosts[] = {
        "tdr-backend-checks.s3.eu-west-2.amazonaws.com", "s3.eu-west-2.amazonaws.com",
        "localhost:9000", "127.0.0.1:4566", "bucket.s3.dualstack.us-east-1.amazonaws.com"};
    static const char *const regions[] = {"eu-west-2", "us-east-1", "ap-southeast-2",
                                          "us-gov-west-1", "cn-north-1"};
    static const char *const services[] = {"s3", "s3", "s3", "s3-outposts"};
    memset(c, 0, sizeof *c);
    c->method = methods[rnd_below(5)];
    c->host = hosts[rnd_below(5)];

    bytes_str(&c->path, "/");
    if (rnd_below(3) == 0)
        bytes_str(&c->path, "tdr-bucket/");
    switch (rnd_below(6)) {
    case 0:
        break; /* the bucket root */
    case 1:
        bytes_str(&c->path, "consignments/0a1b2c3d-aaaa-4bbb-8ccc-0123456789ab/results.json");
        break;
    case 2:
        add_any(&c->path, 1 + rnd_below(64), true);
        break;
    case 3: /* very long */
        add_nasty(&c->path, 300 + rnd_below(500));
        break;
    default:
        add_nasty(&c->path, 1 + rnd_below(20));
    }

    switch (rnd_below(5)) {
    case 0:
        break;
    case 1:
        add_param(c, dup_str("uploads"), dup_str(""));
        break;
    case 2: {
        char n[16];
        snprintf(n, sizeof n, "%zu", 1 + rnd_below(10000));
        add_param(c, dup_str("uploadId"), rand_text());
        add_param(c, dup_str("partNumber"), dup_str(n));
        break;
    }
    case 3:
        add_param(c, dup_str("list-type"), dup_str("2"));
        add_param(c, dup_str("prefix"), rand_text());
        if (rnd_below(2))
            add_param(c, dup_str("continuation-token"), rand_text());
        if (rnd_below(2))
            add_param(c, dup_str("delimiter"), dup_str("/"));
        break;
    default: {
        size_t n = 1 + rnd_below(6);
        for (size_t i = 0; i < n; i++) {
            /* Sometimes the same name again, to sort by value. */
            char *name = i > 0 && rnd_below(4) == 0 ? dup_str(c->params[i - 1].name) : rand_text();
            add_param(c, name, rand_text());
        }
    }
    }

    static const char *const fixed[][2] = {
        {"Content-Type", "application/json"},        {"Range", "bytes=0-1023"},
        {"X-Amz-Server-Side-Encryption", "aws:kms"}, {"If-None-Match", "*"},
        {"Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="}, {"x-amz-copy-source", "/tdr-bucket/a%20b"},
    };
    size_t nh = rnd_below(7);
    for (size_t i = 0; i < nh; i++) {
        switch (rnd_below(4)) {
        case 0: {
            size_t k = rnd_below(sizeof fixed / sizeof *fixed);
            add_header(c, dup_str(fixed[k][0]), dup_str(fixed[k][1]));
            break;
        }
        case 1: {
            struct bytes name = {0};
            bytes_str(&name, rnd_below(2) ? "x-amz-meta-" : "X-Amz-Meta-");
            add_from(&name, "abcdefghijklmnopqrstuvwxyz0123456789-", 1 + rnd_below(10));
            add_header(c, name.p, rand_header_value());
            break;
        }
        case 2: {
            struct bytes name = {0};
            bytes_str(&name, "X-Test-");
            add_from(&name, TCHAR, 1 + rnd_below(12));
            add_header(c, name.p, rand_header_value());
            break;
        }
        default:
            /* A name given again, in another case: values join with ','. */
            if (c->nheaders > 0) {
                char *name = dup_str(c->headers[rnd_below(c->nheaders)].name);
                for (char *p = name; *p; p++)
                    if (rnd_below(2))
                        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
                add_header(c, name, rand_header_value());
            }
        }
    }

    bytes_str(&c->body, "");
    add_any(&c->body, rnd_below(3) == 0 ? 0 : rnd_below(200), true);
    c->unsigned_payload = rnd_below(5) == 0;

    bool temporary = rnd_below(2);
    c->creds.access_key_id = rand_alnum(temporary ? "ASIA" : "AKIA", 16);
    struct bytes secret = {0};
    add_from(&secret, B64, 40);
    c->creds.secret_access_key = secret.p;
    if (temporary) {
        struct bytes token = {0};
        add_from(&token, B64, 16 + rnd_below(1500));
        c->creds.session_token = token.p;
    }
    c->region = regions[rnd_below(5)];
    c->service = services[rnd_below(4)];
    c->now = (time_t)(rnd() % 4102444800ULL);
}

static void free_case(struct dcase *c)
{
    free(c->path.p);
    free(c->body.p);
    for (size_t i = 0; i < c->nparams; i++) {
        free((char *)c->params[i].name);
        free((char *)c->params[i].value);
    }
    for (size_t i = 0; i < c->nheaders; i++) {
        free((char *)c->headers[i].name);
        free((char *)c->headers[i].value);
    }
    credentials_clear(&c->creds);
}

static json_t *hex_json(const void *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(2 * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[((const unsigned char *)p)[i] >> 4];
        s[2 * i + 1] = digits[((const unsigned char *)p)[i] & 15];
    }
    s[2 * n] = '\0';
    json_t *j = json_string(s);
    free(s);
    return j;
}

static char *case_json(const struct dcase *c)
{
    json_t *params = json_array(), *headers = json_array();
    for (size_t i = 0; i < c->nparams; i++)
        json_array_append_new(
            params, json_pack("[oo]", hex_json(c->params[i].name, strlen(c->params[i].name)),
                              hex_json(c->params[i].value, strlen(c->params[i].value))));
    for (size_t i = 0; i < c->nheaders; i++)
        json_array_append_new(headers, json_pack("[ss]", c->headers[i].name, c->headers[i].value));
    json_error_t jerr;
    json_t *o =
        json_pack_ex(&jerr, 0, "{ss ss so so so so sb ss ss ss? ss ss sI}", "method", c->method,
                     "host", c->host, "path_hex", hex_json(c->path.p, c->path.len), "params",
                     params, "headers", headers, "body_hex", hex_json(c->body.p, c->body.len),
                     "unsigned", c->unsigned_payload, "access_key", c->creds.access_key_id,
                     "secret_key", c->creds.secret_access_key, "token", c->creds.session_token,
                     "region", c->region, "service", c->service, "time", (json_int_t)c->now);
    if (!o)
        fail_msg("json_pack: %s", jerr.text);
    char *s = json_dumps(o, JSON_COMPACT);
    assert_non_null(s);
    json_decref(o);
    return s;
}

/* Where the reference signer lives: $BCR_SIGV4_REFERENCE, else next to this
 * file's directory (the tests run from the repository root). */
static void reference_script(char *out, size_t cap)
{
    const char *set = getenv("BCR_SIGV4_REFERENCE");
    if (set) {
        snprintf(out, cap, "%s", set);
        return;
    }
    snprintf(out, cap, "%s", __FILE__);
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
    slash = strrchr(out, '/');
    size_t base = slash ? (size_t)(slash - out + 1) : 0;
    snprintf(out + base, cap - base, "tools/sigv4_botocore.py");
}

/* Runs `python3 script < in > out`; returns the exit status, or -1 if python3
 * could not be started. */
static int run_reference(const char *script, const char *in, const char *out)
{
    const char *python = getenv("BCR_PYTHON") ? getenv("BCR_PYTHON") : "python3";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char *argv[] = {(char *)python, (char *)script, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, python, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    if (WIFEXITED(status))
        return WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The '&'-separated pairs of q, sorted and rejoined: the query sent may be in
 * any order; only its pairs must agree. */
static char *sorted_pairs(const char *q)
{
    char *copy = dup_str(q);
    size_t n = 1;
    for (const char *p = q; *p; p++)
        n += *p == '&';
    char **parts = calloc(n, sizeof *parts);
    assert_non_null(parts);
    size_t k = 0;
    for (char *save = NULL, *t = strtok_r(copy, "&", &save); t; t = strtok_r(NULL, "&", &save))
        parts[k++] = t;
    qsort(parts, k, sizeof *parts, cmp_str);
    struct bytes b = {0};
    bytes_str(&b, "");
    for (size_t i = 0; i < k; i++) {
        if (i > 0)
            bytes_str(&b, "&");
        bytes_str(&b, parts[i]);
    }
    free(parts);
    free(copy);
    return b.p;
}

static int mismatches;

static void expect_same(size_t i, const char *what, const char *ours, const char *theirs)
{
    if (strcmp(ours, theirs) == 0)
        return;
    if (mismatches++ < 5)
        print_error("case %zu: %s differs\n  ours:     %s\n  botocore: %s\n", i, what, ours,
                    theirs);
}

static void check_case(size_t i, const struct dcase *c, json_t *ref)
{
    const char *r_date = json_string_value(json_object_get(ref, "amz_date"));
    const char *r_path = json_string_value(json_object_get(ref, "path"));
    const char *r_query = json_string_value(json_object_get(ref, "query"));
    const char *r_creq = json_string_value(json_object_get(ref, "canonical_request"));
    const char *r_sts = json_string_value(json_object_get(ref, "string_to_sign"));
    const char *r_auth = json_string_value(json_object_get(ref, "authorization"));
    assert_true(r_date && r_path && r_query && r_creq && r_sts && r_auth);

    size_t cap = 3 * c->path.len + 1;
    char *path = malloc(cap);
    assert_non_null(path);
    assert_int_equal(sigv4_uri_encode(c->path.p, c->path.len, true, path, cap),
                     (int)strlen(r_path));
    expect_same(i, "encoded path", path, r_path);

    size_t qcap = 1;
    for (size_t k = 0; k < c->nparams; k++)
        qcap += 3 * (strlen(c->params[k].name) + strlen(c->params[k].value)) + 2;
    char *query = malloc(qcap);
    assert_non_null(query);
    assert_true(sigv4_canonical_query(c->params, c->nparams, query, qcap) >= 0);
    char *ours = sorted_pairs(query), *theirs = sorted_pairs(r_query);
    expect_same(i, "query pairs", ours, theirs);
    free(ours);
    free(theirs);

    char payload_hash[65];
    if (c->unsigned_payload)
        snprintf(payload_hash, sizeof payload_hash, "%s", SIGV4_UNSIGNED_PAYLOAD);
    else
        sigv4_sha256_hex(c->body.p, c->body.len, payload_hash);
    struct sigv4_request req = {c->method,  c->host,     path,         c->params, c->nparams,
                                c->headers, c->nheaders, payload_hash, false};
    struct sigv4_context ctx = {&c->creds, c->region, c->service, c->now};
    struct sigv4_signature sig;
    struct error err = {0};
    if (sigv4_sign(&req, &ctx, &sig, &err) != 0)
        fail_msg("case %zu: sigv4_sign failed: %s: %s", i, err.type, err.message);
    expect_same(i, "x-amz-date", sig.amz_date, r_date);
    expect_same(i, "Authorization", sig.authorization, r_auth);

    size_t ccap = strlen(r_creq) + 1;
    char *creq = malloc(ccap);
    assert_non_null(creq);
    if (sigv4_canonical_request(&req, &ctx, sig.amz_date, creq, ccap) < 0)
        snprintf(creq, ccap, "(does not fit in %zu bytes, or refused)", ccap);
    expect_same(i, "canonical request", creq, r_creq);
    char sts[512];
    assert_true(sigv4_string_to_sign(&req, &ctx, sig.amz_date, sts, sizeof sts) > 0);
    expect_same(i, "string to sign", sts, r_sts);
    free(creq);
    free(query);
    free(path);
}

static void test_botocore_differential(void **state)
{
    (void)state;
    enum { CASES = 300 };
    const char *seed_env = getenv("BCR_SIGV4_SEED");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x5167a4b0c0de2024ULL;
    rng_state = seed;
    print_message("seed 0x%llx (BCR_SIGV4_SEED to replay)\n", (unsigned long long)seed);

    char script[4096];
    reference_script(script, sizeof script);
    if (access(script, R_OK) != 0)
        fail_msg("reference signer %s not found (run from the repository root or set "
                 "BCR_SIGV4_REFERENCE)",
                 script);

    char dir[4096];
    snprintf(dir, sizeof dir, "%s/bcr-sigv4-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    char in_path[4200], out_path[4200];
    snprintf(in_path, sizeof in_path, "%s/in.jsonl", dir);
    snprintf(out_path, sizeof out_path, "%s/out.jsonl", dir);

    static struct dcase cases[CASES];
    FILE *in = fopen(in_path, "w");
    assert_non_null(in);
    for (size_t i = 0; i < CASES; i++) {
        make_case(&cases[i]);
        char *line = case_json(&cases[i]);
        fprintf(in, "%s\n", line);
        free(line);
    }
    assert_int_equal(fclose(in), 0);

    int status = run_reference(script, in_path, out_path);
    if (status == -1 || status == 77) {
        for (size_t i = 0; i < CASES; i++)
            free_case(&cases[i]);
        unlink(in_path);
        unlink(out_path);
        rmdir(dir);
        print_message("SKIPPED: %s\n",
                      status == -1 ? "python3 is not installed" : "python3 has no botocore module");
        skip();
    }
    assert_int_equal(status, 0);

    FILE *out = fopen(out_path, "r");
    assert_non_null(out);
    char *line = NULL;
    size_t line_cap = 0;
    size_t i = 0;
    mismatches = 0;
    for (; getline(&line, &line_cap, out) > 0; i++) {
        assert_true(i < CASES);
        json_error_t jerr;
        json_t *ref = json_loads(line, 0, &jerr);
        if (!ref)
            fail_msg("reference output line %zu: %s", i + 1, jerr.text);
        check_case(i, &cases[i], ref);
        json_decref(ref);
    }
    free(line);
    fclose(out);
    assert_int_equal(i, CASES);
    for (i = 0; i < CASES; i++)
        free_case(&cases[i]);
    unlink(in_path);
    unlink(out_path);
    rmdir(dir);
    if (mismatches)
        fail_msg("%d differences from botocore", mismatches);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_vectors),
        cmocka_unit_test(test_sha256_hex),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_canonical_query),
        cmocka_unit_test(test_amz_date),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_authorization_overflow_is_an_error),
        cmocka_unit_test(test_session_token),
        cmocka_unit_test(test_botocore_differential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
