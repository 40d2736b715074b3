#!/usr/bin/env node
// Test S3 server: s3rver (in-process, its own loopback port, a temporary
// directory) behind a proxy that checks every request as S3 would and injects
// faults on demand. Used by the integration tests (tests/support/s3env.c).
//
//   node tests/s3/server.js [--access-key K] [--secret-key S] [--session-token T]
//        [--region R] [--min-part-size BYTES] [--faults JSON] [--dir DIR] [--bucket B]...
//        [--ignore-stdin] [--tls-cert PEM --tls-key PEM]
//
// Credentials default to $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY /
// $AWS_SESSION_TOKEN, else "test-access-key" / "test-secret-key" / none.
// With --tls-cert and --tls-key the proxy speaks HTTPS with that certificate
// (as S3 does; the tests make a throwaway CA for it), s3rver stays plain HTTP.
// Prints one line when ready:  {"proxy": PORT, "s3": PORT, "dir": "..."}
// and exits on SIGTERM, SIGINT or when its standard input closes (unless
// --ignore-stdin). It removes its temporary directory (not one given with --dir).
//
// The proxy (the endpoint the product talks to), for every request:
//  - checks AWS Signature V4 with AWS's own signer (@smithy/signature-v4),
//    recomputed from the request as received: the canonical URI is the
//    path's bytes S3-encoded (no double encoding, no normalisation), the
//    headers are those listed in SignedHeaders; host and every x-amz-* header
//    must be signed; x-amz-content-sha256 must be the body's SHA-256 (or
//    UNSIGNED-PAYLOAD); Content-MD5, when present, must match; the session
//    token, when one is configured, must be sent and equal. Failures answer
//    with S3's error document (SignatureDoesNotMatch, AccessDenied,
//    XAmzContentSHA256Mismatch, BadDigest, InvalidAccessKeyId, InvalidToken,
//    RequestTimeTooSkewed, AuthorizationHeaderMalformed) and are counted.
//  - verifies a flexible checksum as S3 does: x-amz-checksum-crc32c (base64 of
//    the big-endian CRC-32C), -crc32, -sha1 or -sha256 must be the body's,
//    else 400 BadDigest ("The CRC32C you specified did not match the
//    calculated checksum."); CRC64NVME is not emulated (501 NotImplemented).
//    Test-only strictness, which S3 does not have: a PutObject or UploadPart
//    signed with UNSIGNED-PAYLOAD must carry an x-amz-checksum-* header (else
//    400 InvalidRequest), so that no body the program sends goes unverified.
//  - for a multipart upload created with x-amz-checksum-algorithm (CRC32C,
//    ...; the COMPOSITE type), as S3 does: every UploadPart must carry that
//    checksum (else InvalidRequest), each part's is kept, and
//    CompleteMultipartUpload must list each part's (<ChecksumCRC32C>, ...):
//    missing, InvalidRequest; not the part's, InvalidPart.
//  - fills what s3rver lacks, as S3 does it: AbortMultipartUpload,
//    ListMultipartUploads, NoSuchUpload, InvalidPart / InvalidPartOrder /
//    EntityTooSmall on CompleteMultipartUpload, If-Match on GET/HEAD (412),
//    and the ETag of an object made by CompleteMultipartUpload (the MD5 of
//    the parts' MD5s, "-", the part count; s3rver gives the whole object's MD5).
//  - applies fault rules (see FAULT RULES below), then forwards the request,
//    without its credentials, to s3rver.
//
// Control endpoints on the proxy port (no signature; "__control" cannot be a
// bucket name):
//   GET    /__control/stats       counters since the last reset (requests, by_op, by_status,
//                                 signature_failures: requests signed or hashed wrongly,
//                                 credential_failures: wrong key or session token,
//                                 faults_injected, range_gets, checksums_checked,
//                                 checksum_mismatches, ...) and "totals" since start
//   GET    /__control/requests    the request log: [{method, op, bucket, key, query, range,
//                                 if_match, content_md5, payload, checksum: the
//                                 x-amz-checksum-* algorithm ("crc32c") or null,
//                                 bytes, status, error, fault,
//                                 trace_id: the X-Amzn-Trace-Id header or null}]
//   POST   /__control/faults      body: JSON array of rules (or {"rules": [...]}); replaces them
//   DELETE /__control/faults      removes every rule
//   POST   /__control/reset       zeroes the counters and the request log (not the totals)
//   POST   /__control/credentials body: {"access_key", "secret_key", "session_token", "region",
//                                 "min_part_size"}, each optional; session_token null: none
//   POST   /__control/owners      body: {"BUCKET": "ACCOUNT_ID", ...}: the buckets' owners; a
//                                 request whose x-amz-expected-bucket-owner differs gets 403
//                                 AccessDenied, as S3 answers (replaces the map; {} clears)
//   GET    /__control/uploads     in-progress multipart uploads: [{bucket, key, upload_id, parts}]
//   GET    /__control/objects?bucket=B&prefix=P   [{key, size, etag}] sorted by key
//
// FAULT RULES. A rule is an object; every field but "action" is optional:
//   match:  "method" ("GET"), "op" (S3 operation name: GetObject, HeadObject, PutObject,
//           CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
//           AbortMultipartUpload, ListObjects, ListObjectsV2, ...), "bucket",
//           "key" (a JavaScript regular expression searched in the decoded key),
//           "range" (true: only requests with a Range header; false: only without)
//   when:   "nth" (fire from the nth matching request on, 1-based; default 1),
//           "count" (how many times to fire; default 1; negative: every time)
//   action: "slowdown"  503 SlowDown
//           "internal"  500 InternalError
//           "deny"      403 AccessDenied
//           "error"     "status", "code", "message" as given; with "quote": true the
//                       message ends with the request's signature and session token,
//                       as a server quoting them back would; with "body": TEXT, TEXT
//                       is the whole body instead of an error document
//           "redirect"  "status" (default 302) with a "location" header, no body
//           "reset"     close the connection with a TCP reset, no response; with
//                       "forward": true the request reaches s3rver first
//           "cut"       forward, send the status and headers (full Content-Length),
//                       then "after" bytes of the body (default half), then close;
//                       with "overwrite": TEXT, the object is replaced by TEXT
//                       before the connection closes (so a resumption's If-Match fails);
//                       with "length": false, no Content-Length (nor chunked encoding):
//                       the body ends where the connection closes, cleanly
//           "stall"     send nothing for "ms" milliseconds (default 600000) then close;
//                       with "after": N, forward and send headers and N bytes first
//           "drip"      forward, send the status and headers, then "bytes" bytes of the
//                       body (default 1) every "interval" ms (default 1000), closing
//                       the connection after "ms" milliseconds (default 60000)
//           "random"    with probability "rate" (default 0.2), from a PRNG seeded
//                       with "seed" (default 1), one of "actions" (default
//                       ["slowdown","internal","reset","cut"]; "cut" only on GET)
// The first rule that matches and fires decides; a rule that matches but does
// not fire (not yet nth, or used up) still counts the request.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

let S3rver;
let SignatureV4;
let getCanonicalHeaders;
try {
    S3rver = require('s3rver');
    ({ SignatureV4, getCanonicalHeaders } = require('@smithy/signature-v4'));
} catch (err) {
    process.stderr.write(`s3 test server: ${err.message}\n` + 's3 test server: the npm packages are missing: run scripts/install-deps.sh (npm ci at the repository root)\n');
    process.exit(3);
}

// ---------------------------------------------------------------- options

function parseArgs(argv) {
    const o = {
        accessKey: process.env.AWS_ACCESS_KEY_ID || 'test-access-key',
        secretKey: process.env.AWS_SECRET_ACCESS_KEY || 'test-secret-key',
        sessionToken: process.env.AWS_SESSION_TOKEN || null,
        region: 'eu-west-2',
        minPartSize: 5 * 1024 * 1024,
        faults: [],
        dir: null,
        buckets: [],
        watchStdin: true,
        tlsCert: null,
        tlsKey: null,
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const next = () => {
            if (i + 1 >= argv.length) die(`${a} needs a value`);
            return argv[++i];
        };
        if (a === '--access-key') o.accessKey = next();
        else if (a === '--secret-key') o.secretKey = next();
        else if (a === '--session-token') o.sessionToken = next() || null;
        else if (a === '--region') o.region = next();
        else if (a === '--min-part-size') o.minPartSize = Number(next());
        else if (a === '--faults') o.faults = normaliseRules(JSON.parse(next()));
        else if (a === '--dir') o.dir = next();
        else if (a === '--bucket') o.buckets.push(next());
        else if (a === '--ignore-stdin') o.watchStdin = false;
        else if (a === '--tls-cert') o.tlsCert = next();
        else if (a === '--tls-key') o.tlsKey = next();
        else die(`unknown argument ${a}`);
    }
    if (!o.tlsCert !== !o.tlsKey) die('--tls-cert and --tls-key go together');
    return o;
}

function die(msg) {
    process.stderr.write(`s3 test server: ${msg}\n`);
    process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const ownDir = !opts.dir;
const dir = opts.dir || fs.mkdtempSync(path.join(os.tmpdir(), 'bcr-s3rver-'));

// ---------------------------------------------------------------- S3 helpers

const UNSIGNED = 'UNSIGNED-PAYLOAD';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

// CRC-32 (zlib's) and CRC-32C (Castagnoli), reflected, byte by byte: written
// here independently of src/crc32c.c, so that each checks the other.
function crcTable(poly) {
    const t = new Uint32Array(256);
    for (let b = 0; b < 256; b++) {
        let c = b;
        for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
        t[b] = c >>> 0;
    }
    return t;
}

// As S3 writes a CRC: base64 of its four bytes, most significant first.
function crcBase64(table, buf) {
    let c = 0xffffffff;
    for (let i = 0; i < buf.length; i++) c = table[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
    const out = Buffer.alloc(4);
    out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
    return out.toString('base64');
}

const CRC32_TABLE = crcTable(0xedb88320);
const CRC32C_TABLE = crcTable(0x82f63b78);

// The flexible checksums S3 verifies (x-amz-checksum-ALGORITHM: the base64 of
// the digest; <ChecksumALGORITHM> in CompleteMultipartUpload), by lowercase
// name. CRC64NVME is not emulated.
const CHECKSUMS = {
    crc32: { element: 'ChecksumCRC32', length: 4, digest: b => crcBase64(CRC32_TABLE, b) },
    crc32c: { element: 'ChecksumCRC32C', length: 4, digest: b => crcBase64(CRC32C_TABLE, b) },
    sha1: { element: 'ChecksumSHA1', length: 20, digest: b => crypto.createHash('sha1').update(b).digest('base64') },
    sha256: { element: 'ChecksumSHA256', length: 32, digest: b => crypto.createHash('sha256').update(b).digest('base64') },
};
const CHECKSUM_VALUE_HEADERS = [...Object.keys(CHECKSUMS), 'crc64nvme'].map(a => `x-amz-checksum-${a}`);

const STATUS = {
    AccessDenied: 403,
    AuthorizationHeaderMalformed: 400,
    BadDigest: 400,
    EntityTooSmall: 400,
    IncompleteSignature: 400,
    InternalError: 500,
    InvalidAccessKeyId: 403,
    InvalidArgument: 400,
    InvalidDigest: 400,
    InvalidPart: 400,
    InvalidPartOrder: 400,
    InvalidRequest: 400,
    InvalidToken: 400,
    InvalidURI: 400,
    MalformedXML: 400,
    NoSuchBucket: 404,
    NoSuchUpload: 404,
    NotImplemented: 501,
    PreconditionFailed: 412,
    RequestTimeTooSkewed: 403,
    SignatureDoesNotMatch: 403,
    SlowDown: 503,
    XAmzContentSHA256Mismatch: 400,
};

function xmlEscape(s) {
    return String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
}

function xmlUnescape(s) {
    return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (m, e) => {
        if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
        return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e];
    });
}

function errorXml(code, message, extra = {}) {
    let x = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message>`;
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) x += `<${k}>${xmlEscape(v)}</${k}>`;
    return x + `<RequestId>${crypto.randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`;
}

function sendXml(res, status, body, extraHeaders = {}) {
    const buf = Buffer.from(body);
    res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': buf.length, ...extraHeaders });
    res.end(buf);
}

function sendError(ctx, code, message, extra) {
    ctx.status = STATUS[code] || 400;
    ctx.errorCode = code;
    // A HEAD response has no body, as with S3.
    if (ctx.req.method === 'HEAD') {
        ctx.res.writeHead(ctx.status, { 'Content-Length': 0 });
        ctx.res.end();
        return;
    }
    sendXml(ctx.res, ctx.status, errorXml(code, message, extra));
}

function sendJson(res, status, value) {
    const buf = Buffer.from(JSON.stringify(value) + '\n');
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': buf.length });
    res.end(buf);
}

// Percent-decodes to bytes; null if a % escape is malformed. '+' stays '+'.
function percentDecode(s) {
    const out = [];
    const raw = Buffer.from(s, 'latin1');
    for (let i = 0; i < raw.length; i++) {
        const c = raw[i];
        if (c === 0x25) {
            const h = s.slice(i + 1, i + 3);
            if (!/^[0-9A-Fa-f]{2}$/.test(h)) return null;
            out.push(parseInt(h, 16));
            i += 2;
        } else out.push(c);
    }
    return Buffer.from(out);
}

// S3's canonical URI: every byte but A-Z a-z 0-9 - _ . ~ and / as %XX.
function s3Encode(bytes) {
    let s = '';
    for (const b of bytes) {
        const ch = String.fromCharCode(b);
        if (/[A-Za-z0-9\-_.~/]/.test(ch)) s += ch;
        else s += '%' + b.toString(16).toUpperCase().padStart(2, '0');
    }
    return s;
}

// Raw query string -> {decoded name: value or [values]} (a bare name has value "").
function parseQuery(raw) {
    const q = {};
    if (!raw) return q;
    for (const part of raw.split('&')) {
        if (part === '') continue;
        const eq = part.indexOf('=');
        const kb = percentDecode(eq < 0 ? part : part.slice(0, eq));
        const vb = percentDecode(eq < 0 ? '' : part.slice(eq + 1));
        if (!kb || !vb) return null;
        const k = kb.toString('utf8');
        const v = vb.toString('utf8');
        if (k in q) q[k] = [].concat(q[k], v);
        else q[k] = v;
    }
    return q;
}

function operation(method, bucket, key, q, headers) {
    if (!bucket) return method === 'GET' ? 'ListBuckets' : 'Unknown';
    if (key === null) {
        if (method === 'GET') {
            if ('uploads' in q) return 'ListMultipartUploads';
            if ('location' in q) return 'GetBucketLocation';
            return q['list-type'] === '2' ? 'ListObjectsV2' : 'ListObjects';
        }
        return { PUT: 'CreateBucket', HEAD: 'HeadBucket', DELETE: 'DeleteBucket', POST: 'PostBucket' }[method] || 'Unknown';
    }
    switch (method) {
        case 'GET':
            return 'uploadId' in q ? 'ListParts' : 'GetObject';
        case 'HEAD':
            return 'HeadObject';
        case 'PUT':
            if ('uploadId' in q) return 'UploadPart';
            return 'x-amz-copy-source' in headers ? 'CopyObject' : 'PutObject';
        case 'POST':
            if ('uploads' in q) return 'CreateMultipartUpload';
            if ('uploadId' in q) return 'CompleteMultipartUpload';
            return 'Unknown';
        case 'DELETE':
            return 'uploadId' in q ? 'AbortMultipartUpload' : 'DeleteObject';
        default:
            return 'Unknown';
    }
}

// ---------------------------------------------------------------- signature check

class NodeSha256 {
    constructor(secret) {
        this.secret = secret;
        this.reset();
    }
    update(data) {
        this.h.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    }
    async digest() {
        return new Uint8Array(this.h.digest());
    }
    reset() {
        this.h = this.secret !== undefined ? crypto.createHmac('sha256', this.secret) : crypto.createHash('sha256');
    }
}

const AUTH_RE = /^AWS4-HMAC-SHA256 +Credential=([^,\s]+), *SignedHeaders=([^,\s]+), *Signature=([0-9a-f]{64})\s*$/;

// Returns null when the request is authentic, else [code, message, extra].
async function checkAuth(ctx) {
    const h = ctx.req.headers;
    const auth = h.authorization;
    if (auth === undefined) return ['AccessDenied', 'Access Denied (no Authorization header)'];
    const m = AUTH_RE.exec(auth);
    if (!m) {
        return ['IncompleteSignature', `The authorization header is malformed: ${auth.slice(0, 200)}`];
    }
    const [, credential, signedList, signature] = m;
    const scope = credential.split('/');
    if (scope.length !== 5 || scope[4] !== 'aws4_request') {
        return ['AuthorizationHeaderMalformed', `The authorization header is malformed; the Credential is mal-formed: ${credential}`];
    }
    const [akid, shortDate, region, service] = scope;
    if (akid !== creds.accessKey) {
        return ['InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: akid }];
    }
    if (region !== creds.region) {
        return ['AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${region}' is wrong; expecting '${creds.region}'`, { Region: creds.region }];
    }
    if (service !== 's3') {
        return ['AuthorizationHeaderMalformed', `The authorization header is malformed; incorrect service "${service}". This endpoint belongs to "s3".`];
    }
    const amzDate = h['x-amz-date'];
    if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
        return ['AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header'];
    }
    if (amzDate.slice(0, 8) !== shortDate) {
        return ['AuthorizationHeaderMalformed', `The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date: ${shortDate}.`];
    }
    const when = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
    if (Number.isNaN(when.getTime())) return ['AccessDenied', `Invalid x-amz-date ${amzDate}`];
    if (Math.abs(Date.now() - when.getTime()) > 15 * 60 * 1000) {
        return ['RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', { RequestTime: amzDate, ServerTime: new Date().toISOString() }];
    }

    const signed = signedList.split(';');
    const sorted = [...signed].sort();
    if (signed.join(';') !== sorted.join(';') || signed.some(n => n !== n.toLowerCase() || n === '')) {
        return ['SignatureDoesNotMatch', `SignedHeaders must be lower-case and sorted: ${signedList}`];
    }
    if (!signed.includes('host')) return ['AccessDenied', 'Host must be a signed header'];
    const unsigned = Object.keys(h).filter(n => n.startsWith('x-amz-') && !signed.includes(n));
    if (unsigned.length) {
        return ['AccessDenied', 'There were headers present in the request which were not signed', { HeadersNotSigned: unsigned.join(', ') }];
    }
    for (const n of signed) {
        if (h[n] === undefined) return ['SignatureDoesNotMatch', `signed header ${n} is not in the request`];
    }

    const token = h['x-amz-security-token'];
    if (creds.sessionToken) {
        if (token === undefined) {
            return ['InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records. (temporary credentials need x-amz-security-token)', { AWSAccessKeyId: akid }];
        }
        if (token !== creds.sessionToken) return ['InvalidToken', 'The provided token is malformed or otherwise invalid.'];
    } else if (token !== undefined) {
        return ['InvalidToken', 'The provided token is malformed or otherwise invalid. (no session token is configured)'];
    }

    const contentSha = h['x-amz-content-sha256'];
    if (contentSha === undefined) {
        return ['InvalidRequest', 'Missing required header for this request: x-amz-content-sha256'];
    }
    if (contentSha !== UNSIGNED) {
        if (!/^[0-9a-f]{64}$/.test(contentSha)) {
            return ['InvalidArgument', `x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value: ${contentSha}`];
        }
        const actual = crypto.createHash('sha256').update(ctx.body).digest('hex');
        if (actual !== contentSha) {
            ctx.stat.sha256_mismatches++;
            return ['XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", { ClientComputedContentSHA256: contentSha, S3ComputedContentSHA256: actual }];
        }
        ctx.stat.sha256_checked++;
    } else ctx.stat.unsigned_payloads++;
    const md5 = h['content-md5'];
    if (md5 !== undefined) {
        const want = Buffer.from(md5, 'base64');
        if (want.length !== 16 || want.toString('base64') !== md5) return ['InvalidDigest', 'The Content-MD5 you specified was invalid.', { 'Content-MD5': md5 }];
        const actual = crypto.createHash('md5').update(ctx.body).digest('base64');
        if (actual !== md5) {
            ctx.stat.md5_mismatches++;
            return ['BadDigest', 'The Content-MD5 you specified did not match what we received.', { ExpectedDigest: md5, CalculatedDigest: actual }];
        }
        ctx.stat.md5_checked++;
    }

    // Recompute with AWS's signer from exactly the signed headers as received.
    const headers = {};
    for (const n of signed) headers[n] = h[n];
    const request = {
        method: ctx.req.method,
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: ctx.canonicalPath,
        query: ctx.query,
        headers,
        body: ctx.body,
    };
    const signer = new SignatureV4({
        credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey },
        region: creds.region,
        service: 's3',
        sha256: NodeSha256,
        uriEscapePath: false,
        applyChecksum: false,
    });
    const signedReq = await signer.sign(request, { signingDate: when, signableHeaders: new Set(signed) });
    const expected = /Signature=([0-9a-f]{64})/.exec(signedReq.headers.authorization)[1];
    const expectedList = /SignedHeaders=([^,\s]+)/.exec(signedReq.headers.authorization)[1];
    if (expected !== signature || expectedList !== signedList) {
        const canonicalHeaders = getCanonicalHeaders({ headers }, undefined, new Set(signed));
        const canonical = signer.createCanonicalRequest(request, canonicalHeaders, contentSha);
        return ['SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', { AWSAccessKeyId: akid, CanonicalRequest: canonical, SignatureProvided: signature }];
    }
    return checkChecksum(ctx, contentSha === UNSIGNED);
}

// The flexible checksum of a signed request, as S3 verifies it on the body
// received; sets ctx.checksum to {algorithm, value} as sent. Null when it
// holds, else [code, message].
function checkChecksum(ctx, unsignedPayload) {
    const h = ctx.req.headers;
    const sent = CHECKSUM_VALUE_HEADERS.filter(n => h[n] !== undefined);
    if (sent.length > 1) return ['InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.'];
    if (sent.length === 0) {
        // Test-only strictness (S3 accepts this): a body sent unsigned and
        // without a checksum would be stored unverified, so it is refused here.
        if (unsignedPayload && (ctx.op === 'PutObject' || ctx.op === 'UploadPart')) {
            return ['InvalidRequest', 'test proxy: a body sent with UNSIGNED-PAYLOAD must carry an x-amz-checksum-* header (S3 would store it unverified)'];
        }
        return null;
    }
    const algorithm = sent[0].slice('x-amz-checksum-'.length);
    const kind = CHECKSUMS[algorithm];
    if (!kind) return ['NotImplemented', `test proxy: ${sent[0]} is not emulated`];
    const value = h[sent[0]];
    if (Buffer.from(value, 'base64').length !== kind.length || Buffer.from(value, 'base64').toString('base64') !== value) {
        return ['InvalidRequest', `Value for ${sent[0]} header is invalid.`];
    }
    if (kind.digest(ctx.body) !== value) {
        ctx.stat.checksum_mismatches++;
        return ['BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`];
    }
    ctx.stat.checksums_checked++;
    ctx.checksum = { algorithm, value };
    return null;
}

// ---------------------------------------------------------------- faults

function normaliseRules(v) {
    const list = Array.isArray(v) ? v : v && Array.isArray(v.rules) ? v.rules : null;
    if (!list) throw new Error('fault rules must be a JSON array (or {"rules": [...]})');
    return list.map((r, i) => {
        if (!r || typeof r.action !== 'string') throw new Error(`rule ${i}: "action" is required`);
        const known = ['slowdown', 'internal', 'deny', 'error', 'reset', 'cut', 'stall', 'drip', 'redirect', 'random'];
        if (!known.includes(r.action)) throw new Error(`rule ${i}: unknown action ${r.action}`);
        const rule = { ...r, index: i, seen: 0, fired: 0, keyRe: r.key !== undefined ? new RegExp(r.key) : null };
        if (r.action === 'random') rule.rng = mulberry32(r.seed === undefined ? 1 : r.seed);
        return rule;
    });
}

function mulberry32(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

function ruleMatches(r, ctx) {
    if (r.method && r.method.toUpperCase() !== ctx.req.method) return false;
    if (r.op && r.op !== ctx.op) return false;
    if (r.bucket && r.bucket !== ctx.bucket) return false;
    if (r.keyRe && (ctx.key === null || !r.keyRe.test(ctx.key))) return false;
    if (r.range !== undefined && Boolean(ctx.req.headers.range) !== Boolean(r.range)) return false;
    return true;
}

// The fault to apply to this request, or null.
function pickFault(ctx) {
    for (const r of rules) {
        if (!ruleMatches(r, ctx)) continue;
        r.seen++;
        const limit = r.count === undefined ? 1 : r.count;
        if (r.seen < (r.nth || 1) || (limit >= 0 && r.fired >= limit)) continue;
        if (r.action === 'random') {
            if (r.rng() >= (r.rate === undefined ? 0.2 : r.rate)) continue;
            const actions = r.actions || ['slowdown', 'internal', 'reset', 'cut'];
            let action = actions[Math.floor(r.rng() * actions.length)];
            if (action === 'cut' && ctx.req.method !== 'GET') action = 'internal';
            r.fired++;
            return { ...r, action, index: r.index };
        }
        r.fired++;
        return r;
    }
    return null;
}

function recordFault(ctx, fault) {
    ctx.fault = fault.action;
    stats.faults_injected++;
    totals.faults_injected++;
    stats.faults_by_action[fault.action] = (stats.faults_by_action[fault.action] || 0) + 1;
    stats.faults.push({ rule: fault.index, action: fault.action, op: ctx.op, key: ctx.key });
    if (stats.faults.length > 1000) stats.faults.shift();
}

function resetSocket(socket) {
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
}

const stalled = new Set();

function stall(ctx, ms) {
    const socket = ctx.req.socket;
    stalled.add(socket);
    const t = setTimeout(() => socket.destroy(), ms === undefined ? 600000 : ms);
    socket.on('close', () => {
        clearTimeout(t);
        stalled.delete(socket);
    });
}

// ---------------------------------------------------------------- multipart emulation

function uploadsDir(bucket) {
    return path.join(dir, bucket, '._S3rver_uploads');
}

function bucketExists(bucket) {
    try {
        return fs.statSync(path.join(dir, bucket)).isDirectory();
    } catch {
        return false;
    }
}

// The upload's directory if uploadId names an upload of this bucket and key.
function findUpload(bucket, key, uploadId) {
    if (typeof uploadId !== 'string' || !/^[0-9a-f]{32}$/.test(uploadId)) return null;
    const d = path.join(uploadsDir(bucket), uploadId);
    try {
        if (fs.readFileSync(path.join(d, 'key'), 'utf8') !== key) return null;
    } catch {
        return null;
    }
    return d;
}

function listUploads(bucket) {
    const out = [];
    let ids = [];
    try {
        ids = fs.readdirSync(uploadsDir(bucket));
    } catch {
        return out;
    }
    for (const id of ids) {
        const d = path.join(uploadsDir(bucket), id);
        let key = null;
        try {
            key = fs.readFileSync(path.join(d, 'key'), 'utf8');
        } catch {
            /* a directory left by an UploadPart s3rver took for a new upload */
        }
        let parts = 0;
        try {
            parts = fs.readdirSync(d).filter(f => /^\d+$/.test(f)).length;
        } catch {
            /* gone meanwhile */
        }
        const st = fs.statSync(d, { throwIfNoEntry: false });
        out.push({ bucket, key, upload_id: id, parts, initiated: st ? st.birthtime.toISOString() : null });
    }
    return out.sort((a, b) => String(a.key).localeCompare(String(b.key)) || a.upload_id.localeCompare(b.upload_id));
}

function allBuckets() {
    try {
        return fs.readdirSync(dir).filter(b => bucketExists(b)).sort();
    } catch {
        return [];
    }
}

// Handles the operations s3rver does not do as S3 does. Returns true when it answered.
function emulate(ctx) {
    const { op, bucket, key, query } = ctx;
    if (!['AbortMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'ListMultipartUploads', 'ListParts'].includes(op)) {
        return false;
    }
    if (!bucketExists(bucket)) {
        sendError(ctx, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
        return true;
    }
    if (op === 'ListMultipartUploads') {
        let x = `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult><Bucket>${xmlEscape(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>`;
        for (const u of listUploads(bucket)) {
            if (u.key === null || (query.prefix && !u.key.startsWith(query.prefix))) continue;
            x += `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.upload_id}</UploadId><Initiated>${u.initiated}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`;
        }
        ctx.status = 200;
        sendXml(ctx.res, 200, x + '</ListMultipartUploadsResult>');
        return true;
    }
    const d = findUpload(bucket, key, query.uploadId);
    if (!d) {
        sendError(ctx, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: String(query.uploadId) });
        return true;
    }
    const sums = checksumUploads.get(query.uploadId);
    if (op === 'AbortMultipartUpload') {
        checksumUploads.delete(query.uploadId);
        fs.rmSync(d, { recursive: true, force: true });
        ctx.status = 204;
        ctx.res.writeHead(204);
        ctx.res.end();
        return true;
    }
    if (op === 'ListParts') {
        let x = `<?xml version="1.0" encoding="UTF-8"?>\n<ListPartsResult><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${query.uploadId}</UploadId><IsTruncated>false</IsTruncated>`;
        const nums = fs.readdirSync(d).filter(f => /^\d+$/.test(f)).map(Number).sort((a, b) => a - b);
        for (const n of nums) {
            const size = fs.statSync(path.join(d, String(n))).size;
            const md5 = fs.readFileSync(path.join(d, `${n}.md5`), 'utf8');
            x += `<Part><PartNumber>${n}</PartNumber><ETag>"${md5}"</ETag><Size>${size}</Size></Part>`;
        }
        ctx.status = 200;
        sendXml(ctx.res, 200, x + '</ListPartsResult>');
        return true;
    }
    if (op === 'UploadPart') {
        const n = query.partNumber;
        if (typeof n !== 'string' || !/^[1-9][0-9]*$/.test(n) || Number(n) > 10000) {
            sendError(ctx, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: String(n) });
            return true;
        }
        // (A part's checksum on an upload created without an algorithm is let through.)
        if (sums && (!ctx.checksum || ctx.checksum.algorithm !== sums.algorithm)) {
            sendError(ctx, 'InvalidRequest', `Checksum Type mismatch occurred, expected checksum Type: ${sums.algorithm}, actual checksum Type: ${ctx.checksum ? ctx.checksum.algorithm : 'null'}`);
            return true;
        }
        return false; // s3rver stores it (noteWrite keeps its checksum)
    }
    // CompleteMultipartUpload: check the part list as S3 does before s3rver assembles it.
    const xml = ctx.body.toString('utf8');
    const parts = [];
    const partRe = /<Part>([\s\S]*?)<\/Part>/g;
    let pm;
    while ((pm = partRe.exec(xml))) {
        const num = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(pm[1]);
        const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(pm[1]);
        const sum = sums && new RegExp(`<${CHECKSUMS[sums.algorithm].element}>([^<]*)</`).exec(pm[1]);
        if (!num || !etag) break;
        parts.push({ number: Number(num[1]), etag: xmlUnescape(etag[1]).trim().replace(/"/g, ''), checksum: sum ? xmlUnescape(sum[1]).trim() : null });
    }
    if (!/<CompleteMultipartUpload[\s>]/.test(xml) || parts.length === 0 || parts.length !== (xml.match(/<Part>/g) || []).length) {
        sendError(ctx, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
        return true;
    }
    for (let i = 1; i < parts.length; i++) {
        if (parts[i].number <= parts[i - 1].number) {
            sendError(ctx, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.', { UploadId: query.uploadId });
            return true;
        }
    }
    ctx.multipartEtag = crypto.createHash('md5').update(Buffer.concat(parts.map(p => Buffer.from(p.etag, 'hex')))).digest('hex') + `-${parts.length}`;
    for (let i = 0; i < parts.length; i++) {
        const p = parts[i];
        let md5;
        let size;
        try {
            md5 = fs.readFileSync(path.join(d, `${p.number}.md5`), 'utf8');
            size = fs.statSync(path.join(d, String(p.number))).size;
        } catch {
            md5 = null;
        }
        if (sums && p.checksum === null) {
            sendError(ctx, 'InvalidRequest', `The upload was created using a ${sums.algorithm} checksum. The complete request must include the checksum for each part. It was missing for part ${p.number} in the request.`);
            return true;
        }
        if (md5 === null || md5 !== p.etag || (sums && sums.parts.get(p.number) !== p.checksum)) {
            sendError(ctx, 'InvalidPart', "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.", { UploadId: query.uploadId, PartNumber: p.number, ETag: p.etag });
            return true;
        }
        if (i < parts.length - 1 && size < creds.minPartSize) {
            sendError(ctx, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', { ProposedSize: size, MinSizeAllowed: creds.minPartSize, PartNumber: p.number, ETag: p.etag });
            return true;
        }
    }
    return false; // s3rver assembles it and removes the upload
}

// ---------------------------------------------------------------- proxy

let bucketOwners = {};
let creds = {
    accessKey: opts.accessKey,
    secretKey: opts.secretKey,
    sessionToken: opts.sessionToken,
    region: opts.region,
    minPartSize: opts.minPartSize,
};
let rules = opts.faults;
let stats;
let requestLog;
// Never reset: for a check across a whole test suite.
const totals = { requests: 0, signature_failures: 0, credential_failures: 0, faults_injected: 0 };

function resetStats() {
    stats = {
        requests: 0,
        by_op: {},
        by_status: {},
        signature_failures: 0,
        credential_failures: 0,
        auth_failures: [],
        sha256_checked: 0,
        sha256_mismatches: 0,
        unsigned_payloads: 0,
        checksums_checked: 0,
        checksum_mismatches: 0,
        md5_checked: 0,
        md5_mismatches: 0,
        range_gets: 0,
        if_match_gets: 0,
        precondition_failures: 0,
        faults_injected: 0,
        faults_by_action: {},
        faults: [],
    };
    requestLog = [];
}
resetStats();

const upstreamAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
let s3Port = 0;

function logRequest(ctx) {
    const entry = {
        method: ctx.req.method,
        op: ctx.op,
        bucket: ctx.bucket,
        key: ctx.key,
        query: ctx.rawQuery,
        range: ctx.req.headers.range || null,
        if_match: ctx.req.headers['if-match'] || null,
        content_md5: ctx.req.headers['content-md5'] !== undefined,
        payload: ctx.req.headers['x-amz-content-sha256'] === UNSIGNED ? 'unsigned' : ctx.req.headers['x-amz-content-sha256'] ? 'signed' : null,
        checksum: ctx.checksum ? ctx.checksum.algorithm : null,
        bytes: ctx.body ? ctx.body.length : 0,
        status: ctx.status || null,
        error: ctx.errorCode || null,
        fault: ctx.fault || null,
        trace_id: ctx.req.headers['x-amzn-trace-id'] || null,
    };
    requestLog.push(entry);
    if (requestLog.length > 20000) requestLog.shift();
    stats.by_status[entry.status] = (stats.by_status[entry.status] || 0) + 1;
}

async function handle(req, res) {
    const url = req.url;
    if (url.startsWith('/__control/')) return control(req, res);

    const chunks = [];
    for await (const c of req) chunks.push(c);
    const ctx = { req, res, body: Buffer.concat(chunks), stat: stats, status: 0 };
    res.on('finish', () => logRequest(ctx));
    res.on('close', () => {
        if (!res.writableFinished) logRequest(ctx);
    });

    stats.requests++;
    totals.requests++;
    const qi = url.indexOf('?');
    const rawPath = qi < 0 ? url : url.slice(0, qi);
    ctx.rawQuery = qi < 0 ? '' : url.slice(qi + 1);
    const pathBytes = percentDecode(rawPath);
    ctx.query = parseQuery(ctx.rawQuery);
    ctx.bucket = null;
    ctx.key = null;
    ctx.op = 'Unknown';
    if (!pathBytes || !ctx.query || !rawPath.startsWith('/')) {
        sendError(ctx, 'InvalidURI', "Couldn't parse the specified URI.", { URI: url });
        return;
    }
    ctx.canonicalPath = s3Encode(pathBytes);
    const p = pathBytes.toString('utf8');
    const slash = p.indexOf('/', 1);
    ctx.bucket = (slash < 0 ? p.slice(1) : p.slice(1, slash)) || null;
    ctx.key = slash < 0 || slash === p.length - 1 ? null : p.slice(slash + 1);
    ctx.op = operation(req.method, ctx.bucket, ctx.key, ctx.query, req.headers);
    stats.by_op[ctx.op] = (stats.by_op[ctx.op] || 0) + 1;
    if (req.method === 'GET' && req.headers.range) stats.range_gets++;
    if (req.method === 'GET' && req.headers['if-match']) stats.if_match_gets++;

    const failure = await checkAuth(ctx);
    if (failure) {
        const [code, message, extra] = failure;
        // Wrong credentials are the caller's configuration; anything else is
        // a request the client signed or hashed wrongly.
        const credential = code === 'InvalidAccessKeyId' || code === 'InvalidToken';
        if (credential) {
            stats.credential_failures++;
            totals.credential_failures++;
        } else {
            stats.signature_failures++;
            totals.signature_failures++;
        }
        stats.auth_failures.push({ code, message, method: req.method, url, canonical_request: extra && extra.CanonicalRequest });
        if (stats.auth_failures.length > 50) stats.auth_failures.shift();
        process.stderr.write(`s3 test server: ${req.method} ${url}: ${code}: ${message}\n` + (extra && extra.CanonicalRequest ? `canonical request (as the server computes it):\n${extra.CanonicalRequest}\n` : ''));
        sendError(ctx, code, message, extra);
        return;
    }

    const expectedOwner = req.headers['x-amz-expected-bucket-owner'];
    if (expectedOwner !== undefined && ctx.bucket && bucketOwners[ctx.bucket] !== undefined &&
        bucketOwners[ctx.bucket] !== expectedOwner) {
        stats.owner_mismatches = (stats.owner_mismatches || 0) + 1;
        return sendError(ctx, 'AccessDenied', 'Access Denied');
    }

    const fault = pickFault(ctx);
    if (fault) {
        recordFault(ctx, fault);
        switch (fault.action) {
            case 'slowdown':
                return sendError(ctx, 'SlowDown', 'Please reduce your request rate.');
            case 'internal':
                return sendError(ctx, 'InternalError', 'We encountered an internal error. Please try again.');
            case 'deny':
                return sendError(ctx, 'AccessDenied', 'Access Denied');
            case 'error':
                ctx.status = fault.status || 400;
                ctx.errorCode = fault.code || 'InvalidRequest';
                if (fault.body !== undefined) return sendXml(res, ctx.status, String(fault.body));
                return sendXml(res, ctx.status, errorXml(ctx.errorCode, (fault.message || 'Injected error') + (fault.quote ? ` You sent signature ${(/Signature=([0-9a-f]+)/.exec(req.headers.authorization || '') || [])[1]} and token ${req.headers['x-amz-security-token']}.` : '')));
            case 'redirect':
                ctx.status = fault.status || 302;
                res.writeHead(ctx.status, { Location: fault.location || '', 'Content-Length': 0 });
                return res.end();
            case 'reset':
                if (!fault.forward) {
                    ctx.status = -1;
                    return resetSocket(req.socket);
                }
                break;
            case 'stall':
                if (fault.after === undefined) {
                    ctx.status = -1;
                    return stall(ctx, fault.ms);
                }
                break;
            default:
                break; // cut: after forwarding
        }
    }

    if (ctx.op === 'CreateMultipartUpload' && req.headers['x-amz-checksum-algorithm'] !== undefined) {
        const algorithm = req.headers['x-amz-checksum-algorithm'].toLowerCase();
        const type = (req.headers['x-amz-checksum-type'] || 'COMPOSITE').toUpperCase();
        if (!CHECKSUMS[algorithm] || type !== 'COMPOSITE') {
            return sendError(ctx, 'NotImplemented', `test proxy: checksums of type ${type} with ${algorithm} are not emulated`);
        }
        ctx.checksumAlgorithm = algorithm;
    }
    if (emulate(ctx)) return;
    forward(ctx, fault);
}

// Sends the response's body a few bytes at a time, for at most fault.ms.
function drip(ctx, fault, ures, headers) {
    const { req, res } = ctx;
    const socket = req.socket;
    ctx.status = ures.statusCode;
    res.writeHead(ures.statusCode, headers);
    res.flushHeaders();
    const bufs = [];
    let body = null;
    let pos = 0;
    ures.on('data', c => bufs.push(c));
    ures.on('end', () => { body = Buffer.concat(bufs); });
    const step = fault.bytes || 1;
    const until = Date.now() + (fault.ms === undefined ? 60000 : fault.ms);
    const timer = setInterval(() => {
        if (Date.now() >= until) return socket.destroy();
        if (!body) return;
        const piece = body.subarray(pos, pos + step);
        pos += piece.length;
        if (piece.length) res.write(piece);
        if (pos >= body.length) {
            clearInterval(timer);
            res.end();
        }
    }, fault.interval || 1000);
    stalled.add(socket);
    socket.on('close', () => {
        clearInterval(timer);
        stalled.delete(socket);
    });
}

// Upload id -> {algorithm, parts: Map(part number -> checksum, base64)} for
// the multipart uploads created with an x-amz-checksum-algorithm, until they
// are completed or aborted.
const checksumUploads = new Map();

// "bucket/key" -> the S3 ETag of an object CompleteMultipartUpload made, until
// the object is written or deleted again.
const multipartEtags = new Map();

function objectEtag(bucket, key, s3rverEtag) {
    const e = multipartEtags.get(`${bucket}/${key}`);
    return e === undefined ? s3rverEtag : `"${e}"`;
}

function noteWrite(ctx, status) {
    const id = `${ctx.bucket}/${ctx.key}`;
    if (ctx.op === 'CompleteMultipartUpload' && status === 200) {
        multipartEtags.set(id, ctx.multipartEtag);
        checksumUploads.delete(ctx.query.uploadId);
    }
    if (ctx.op === 'UploadPart' && status === 200 && checksumUploads.has(ctx.query.uploadId))
        checksumUploads.get(ctx.query.uploadId).parts.set(Number(ctx.query.partNumber), ctx.checksum.value);
    else if (['PutObject', 'CopyObject', 'DeleteObject'].includes(ctx.op) && status < 300) multipartEtags.delete(id);
}

function etagMatches(ifMatch, etag) {
    const norm = t => t.trim().replace(/^W\//, '').replace(/"/g, '');
    return ifMatch.split(',').some(t => t.trim() === '*' || norm(t) === norm(etag || ''));
}

function forward(ctx, fault) {
    const { req, res } = ctx;
    const headers = { ...req.headers };
    delete headers.authorization;
    delete headers['x-amz-security-token'];
    delete headers.expect;
    delete headers['transfer-encoding'];
    headers.host = `127.0.0.1:${s3Port}`;
    headers['content-length'] = String(ctx.body.length);
    // s3rver's router cannot match keys with empty segments ("a//b"): send
    // the key as one path segment ('/' as %2F), which its router decodes.
    let upPath = req.url;
    if (ctx.key !== null) {
        upPath = `/${s3Encode(Buffer.from(ctx.bucket, 'utf8'))}/${s3Encode(Buffer.from(ctx.key, 'utf8')).replace(/\//g, '%2F')}`;
        if (ctx.rawQuery) upPath += `?${ctx.rawQuery}`;
    }
    // As S3 (and RFC 9110) do, If-Match is evaluated before Range: ask
    // s3rver for the object's current ETag first.
    const ifMatch = req.headers['if-match'];
    if (ifMatch && (req.method === 'GET' || req.method === 'HEAD') && !ctx.ifMatchChecked) {
        ctx.ifMatchChecked = true;
        const head = http.request({ host: '127.0.0.1', port: s3Port, method: 'HEAD', path: upPath.split('?')[0], headers: { host: headers.host }, agent: upstreamAgent }, hres => {
            hres.resume();
            if (hres.statusCode === 200 && !etagMatches(ifMatch, objectEtag(ctx.bucket, ctx.key, hres.headers.etag))) {
                stats.precondition_failures++;
                return sendError(ctx, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
            }
            forward(ctx, fault);
        });
        head.on('error', () => forward(ctx, fault));
        head.end();
        return;
    }
    const up = http.request({ host: '127.0.0.1', port: s3Port, method: req.method, path: upPath, headers, agent: upstreamAgent }, ures => {
        noteWrite(ctx, ures.statusCode); // done upstream, even if the client never hears of it
        if (fault && fault.action === 'reset') {
            ures.resume();
            ctx.status = -1;
            return resetSocket(req.socket);
        }
        if ((req.method === 'GET' || req.method === 'HEAD') && ures.headers.etag !== undefined)
            ures.headers.etag = objectEtag(ctx.bucket, ctx.key, ures.headers.etag);
        if (ifMatch && (req.method === 'GET' || req.method === 'HEAD') && ures.statusCode < 300) {
            if (!etagMatches(ifMatch, ures.headers.etag)) {
                ures.resume();
                stats.precondition_failures++;
                return sendError(ctx, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
            }
        }
        ctx.status = ures.statusCode;
        const h = { ...ures.headers };
        delete h.connection;
        delete h['keep-alive'];
        const m = ures.statusCode >= 400 && /<Code>([^<]*)<\/Code>/;
        if (fault && fault.action === 'drip') return drip(ctx, fault, ures, h);
        if (fault && (fault.action === 'cut' || fault.action === 'stall')) {
            const total = Number(ures.headers['content-length'] || 0);
            const limit = fault.after !== undefined ? fault.after : Math.floor(total / 2);
            if (fault.length === false) {
                delete h['content-length'];
                res.useChunkedEncodingByDefault = false; // framed by the connection's close
            }
            res.writeHead(ures.statusCode, h);
            res.flushHeaders();
            let sent = 0;
            let done = false;
            const finish = () => {
                if (done) return;
                done = true;
                ures.destroy();
                if (fault.action === 'cut') {
                    // Let what was written reach the client, then close; with
                    // "overwrite", replace the object first (a new ETag).
                    const close = () => {
                        req.socket.end();
                        setTimeout(() => req.socket.destroy(), 200).unref();
                    };
                    if (fault.overwrite === undefined) close();
                    else overwrite(upPath.split('?')[0], String(fault.overwrite), close);
                } else stall(ctx, fault.ms);
            };
            if (limit === 0) return finish();
            ures.on('data', chunk => {
                if (done) return;
                const room = limit - sent;
                const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
                sent += piece.length;
                res.write(piece);
                if (sent >= limit) finish();
            });
            ures.on('end', finish);
            return;
        }
        // S3 answers with the checksum it verified, or the upload's algorithm.
        if (ctx.checksum && ures.statusCode === 200) h[`x-amz-checksum-${ctx.checksum.algorithm}`] = ctx.checksum.value;
        if (ctx.checksumAlgorithm && ures.statusCode === 200) {
            h['x-amz-checksum-algorithm'] = ctx.checksumAlgorithm.toUpperCase();
            const bufs = [];
            ures.on('data', c => bufs.push(c));
            ures.on('end', () => {
                const body = Buffer.concat(bufs);
                const id = /<UploadId>([^<]+)<\/UploadId>/.exec(body.toString('utf8'));
                if (id) checksumUploads.set(id[1], { algorithm: ctx.checksumAlgorithm, parts: new Map() });
                h['content-length'] = String(body.length);
                delete h['transfer-encoding'];
                res.writeHead(ures.statusCode, h);
                res.end(body);
            });
            return;
        }
        if (m) {
            // Remember the S3 error code s3rver answered with, for the log.
            const bufs = [];
            ures.on('data', c => bufs.push(c));
            ures.on('end', () => {
                const body = Buffer.concat(bufs);
                const cm = m.exec(body.toString('utf8'));
                ctx.errorCode = cm ? cm[1] : null;
                h['content-length'] = String(body.length);
                delete h['transfer-encoding'];
                res.writeHead(ures.statusCode, h);
                res.end(body);
            });
            return;
        }
        res.writeHead(ures.statusCode, h);
        ures.pipe(res);
    });
    up.on('error', err => {
        if (!res.headersSent) sendError(ctx, 'InternalError', `test proxy: s3rver request failed: ${err.message}`);
        else req.socket.destroy();
    });
    up.end(ctx.body);
}

// PUTs body at s3rver's path (no query), then calls done.
function overwrite(objectPath, body, done) {
    const buf = Buffer.from(body, 'utf8');
    const r = http.request({ host: '127.0.0.1', port: s3Port, method: 'PUT', path: objectPath, headers: { 'content-length': buf.length }, agent: upstreamAgent }, res => {
        res.resume();
        res.on('end', done);
    });
    r.on('error', err => {
        process.stderr.write(`s3 test server: overwrite ${objectPath}: ${err.message}\n`);
        done();
    });
    r.end(buf);
}

// ---------------------------------------------------------------- control

async function readJson(req) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const s = Buffer.concat(chunks).toString('utf8');
    return s.trim() === '' ? null : JSON.parse(s);
}

async function control(req, res) {
    const u = new URL(req.url, 'http://127.0.0.1');
    const route = `${req.method} ${u.pathname}`;
    try {
        switch (route) {
            case 'GET /__control/stats':
                return sendJson(res, 200, { ...stats, totals, faults: undefined, faults_log: stats.faults, rules: rules.map(r => ({ index: r.index, action: r.action, seen: r.seen, fired: r.fired })) });
            case 'GET /__control/requests':
                return sendJson(res, 200, requestLog);
            case 'POST /__control/faults':
                rules = normaliseRules(await readJson(req));
                return sendJson(res, 200, { rules: rules.length });
            case 'DELETE /__control/faults':
                rules = [];
                return sendJson(res, 200, { rules: 0 });
            case 'POST /__control/reset':
                resetStats();
                return sendJson(res, 200, { ok: true });
            case 'POST /__control/credentials': {
                const c = (await readJson(req)) || {};
                creds = {
                    accessKey: c.access_key !== undefined ? c.access_key : creds.accessKey,
                    secretKey: c.secret_key !== undefined ? c.secret_key : creds.secretKey,
                    sessionToken: c.session_token !== undefined ? c.session_token || null : creds.sessionToken,
                    region: c.region !== undefined ? c.region : creds.region,
                    minPartSize: c.min_part_size !== undefined ? Number(c.min_part_size) : creds.minPartSize,
                };
                return sendJson(res, 200, { ok: true });
            }
            case 'POST /__control/owners':
                bucketOwners = (await readJson(req)) || {};
                return sendJson(res, 200, { ok: true });
            case 'GET /__control/uploads': {
                const all = [];
                for (const b of allBuckets()) all.push(...listUploads(b));
                return sendJson(res, 200, all);
            }
            case 'GET /__control/objects': {
                const bucket = u.searchParams.get('bucket');
                const prefix = u.searchParams.get('prefix') || '';
                if (!bucket || !bucketExists(bucket)) return sendJson(res, 404, { error: 'NoSuchBucket' });
                const r = await s3.store.listObjects(bucket, { prefix });
                const list = r.objects.map(o => ({ key: o.key, size: o.size, etag: objectEtag(bucket, o.key, o.metadata.etag).replace(/"/g, '') }));
                list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
                return sendJson(res, 200, list);
            }
            default:
                return sendJson(res, 404, { error: `no control endpoint ${route}` });
        }
    } catch (err) {
        return sendJson(res, 400, { error: String(err.message || err) });
    }
}

// ---------------------------------------------------------------- start, stop

const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: opts.buckets.map(name => ({ name })),
});

function serve(req, res) {
    handle(req, res).catch(err => {
        process.stderr.write(`s3 test server: ${req.method} ${req.url}: ${err.stack || err}\n`);
        if (!res.headersSent) sendXml(res, 500, errorXml('InternalError', `test proxy: ${err.message}`));
        else req.socket.destroy();
    });
}
const proxy = opts.tlsCert
    ? require('https').createServer(
          { cert: fs.readFileSync(opts.tlsCert), key: fs.readFileSync(opts.tlsKey) }, serve)
    : http.createServer(serve);
proxy.keepAliveTimeout = 30000;

let stopping = false;
function stop(code) {
    if (stopping) return;
    stopping = true;
    for (const s of stalled) s.destroy();
    if (typeof proxy.closeAllConnections === 'function') proxy.closeAllConnections();
    proxy.close();
    upstreamAgent.destroy();
    const done = () => {
        if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
        process.exit(code);
    };
    Promise.resolve(s3.httpServer ? s3.close().catch(() => {}) : null).then(done, done);
    setTimeout(done, 2000).unref();
}

process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
if (opts.watchStdin) {
    process.stdin.on('end', () => stop(0));
    process.stdin.on('error', () => stop(0));
    process.stdin.resume();
}

(async () => {
    const { port } = await s3.run();
    s3Port = port;
    await new Promise((resolve, reject) => {
        proxy.once('error', reject);
        proxy.listen(0, '127.0.0.1', resolve);
    });
    process.stdout.write(JSON.stringify({ proxy: proxy.address().port, s3: s3Port, dir }) + '\n');
})().catch(err => {
    process.stderr.write(`s3 test server: cannot start: ${err.stack || err}\n`);
    stop(1);
});
