#!/usr/bin/env node
// bench/s3front.js: a small S3 over HTTPS that answers like S3 seen from a Lambda function, for
// `make bench-prod` (bench/prod.py):
//   - first-byte delay: each response starts no earlier than --delay-ms after its request was
//     received in full (S3's time to first byte; for an UploadPart, after its body);
//   - per-connection rate: each TLS connection moves at most --conn-mbps MB/s each way (one
//     S3 connection gives 85-90 MB/s);
//   - aggregate rate: all connections together move at most --agg-mbps MB/s each way (a Lambda
//     execution environment's network, ~75 MB/s; the bench runs one function process at a time
//     against one front, so this is the process's aggregate).
// Rates are paced with a virtual clock per link (a chunk goes out when every link it passes
// through has room for it), so timer granularity does not lower them.
//
// It serves GetObject/HeadObject (Range bytes=N- too) from ROOT/BUCKET/KEY (a generated export,
// bench/gen_results.py's layout) and takes PutObject and multipart uploads (create, parts,
// complete, abort) into memory, where GET, HEAD and DELETE reach them.
// s3rver (bench/s3rver.js) cannot be the store here: on this machine it serves one connection at
// 55-115 MB/s with a first byte of ~90 ms on large objects, below the rates to be modelled.
// Signatures are not checked (the test suite's S3 proxy, tests/s3/server.js, does that); the
// bench measures time, and checks each output it is given.
//
//   node bench/s3front.js --root ROOT --tls-cert PEM --tls-key PEM
//                         [--delay-ms 20] [--conn-mbps 90] [--agg-mbps 75]
//
// Prints {"port": N} when ready; exits on SIGTERM/SIGINT or when stdin closes. MB is 10^6 bytes.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const https = require('https');
const path = require('path');

const opt = { 'delay-ms': 20, 'conn-mbps': 90, 'agg-mbps': 75 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) {
        process.stderr.write('usage: node bench/s3front.js --root DIR --tls-cert PEM --tls-key PEM ' +
                             '[--delay-ms N] [--conn-mbps N] [--agg-mbps N]\n');
        process.exit(2);
    }
    opt[argv[i].slice(2)] = argv[i + 1];
}
const delayMs = Number(opt['delay-ms']);
const connRate = Number(opt['conn-mbps']) * 1e6 / 1000; // bytes per ms
const aggRate = Number(opt['agg-mbps']) * 1e6 / 1000;

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A token bucket as a virtual clock: `free` is when the link is next idle.
class Link {
    constructor(rate) {
        this.rate = rate;
        this.free = 0;
    }
}
const agg = { up: new Link(aggRate), down: new Link(aggRate) };

// A link idle for a while may send this much at once (in ms of its rate), so that a timer
// that fires late is made up for and the average holds.
const BURST_MS = 10;

// Books `n` bytes on every link of `links`; returns how long (ms) to wait before they may pass.
function book(links, n) {
    const t = now();
    let start = t - BURST_MS;
    for (const l of links) start = Math.max(start, l.free);
    let done = start;
    for (const l of links) {
        l.free = start + n / l.rate;
        done = Math.max(done, l.free);
    }
    return done - t;
}

// Waits until `n` bytes may pass every link of `links`; a lead under a millisecond is made up
// by the next chunk.
async function pace(links, n) {
    const wait = book(links, n);
    if (wait > 1) await sleep(wait);
}

async function pipePaced(src, dst, links) {
    for await (const chunk of src) {
        await pace(links, chunk.length);
        if (!dst.write(chunk)) await new Promise((resolve) => dst.once('drain', resolve));
    }
}

function* slices(buf) {
    for (let i = 0; i < buf.length; i += 256 * 1024) yield buf.subarray(i, i + 256 * 1024);
}

// Objects written and multipart uploads in progress.
const written = new Map(); // "bucket/key" -> Buffer
const uploads = new Map(); // upload id -> {name, parts: Map(number -> Buffer)}
let nextUpload = 1;

function xml(status, body) {
    const b = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n' + body);
    return { status, headers: { 'Content-Type': 'application/xml', 'Content-Length': b.length }, body: b };
}

// ETags: random, not the MD5 S3 would give (no client here checks them, and hashing every
// body would cost the front CPU the functions need); the multipart form "...-N" is kept.
const etag = () => crypto.randomBytes(16).toString('hex');

// The answer to one request whose body is `body`: {status, headers, and body (a Buffer) or
// file and from (a byte offset)}.
function answer(req, url, body) {
    const segments = url.pathname.split('/');
    const bucket = decodeURIComponent(segments[1] || '');
    const key = decodeURIComponent(segments.slice(2).join('/'));
    const name = bucket + '/' + key;
    const q = url.searchParams;
    if (req.method === 'POST' && q.has('uploads')) {
        const id = 'upload-' + nextUpload++;
        uploads.set(id, { name, parts: new Map() });
        return xml(200, `<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key>` +
                        `<UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
    }
    if (q.has('uploadId')) {
        const id = q.get('uploadId');
        const up = uploads.get(id);
        if (!up || up.name !== name)
            return xml(404, '<Error><Code>NoSuchUpload</Code><Message>no such upload</Message></Error>');
        if (req.method === 'PUT') {
            up.parts.set(Number(q.get('partNumber')), body);
            return { status: 200, headers: { ETag: `"${etag()}"`, 'Content-Length': 0 } };
        }
        uploads.delete(id);
        if (req.method === 'DELETE') return { status: 204, headers: {} };
        const numbers = [...up.parts.keys()].sort((a, b) => a - b);
        const parts = numbers.map((n) => up.parts.get(n));
        written.set(name, Buffer.concat(parts));
        const tag = `&quot;${etag()}-${parts.length}&quot;`;
        return xml(200, `<CompleteMultipartUploadResult><Location>${name}</Location><Bucket>${bucket}` +
                        `</Bucket><Key>${key}</Key><ETag>${tag}</ETag></CompleteMultipartUploadResult>`);
    }
    if (req.method === 'PUT') {
        written.set(name, body);
        return { status: 200, headers: { ETag: `"${etag()}"`, 'Content-Length': 0 } };
    }
    if (req.method === 'DELETE') {
        written.delete(name);
        return { status: 204, headers: {} };
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
        return xml(501, `<Error><Code>NotImplemented</Code><Message>${req.method}</Message></Error>`);
    const mem = written.get(name);
    const file = mem ? null : path.join(opt.root, bucket, key);
    let size;
    try {
        size = mem ? mem.length : fs.statSync(file).size;
    } catch (err) {
        return xml(404, `<Error><Code>NoSuchKey</Code><Message>no such key</Message><Key>${key}</Key></Error>`);
    }
    const headers = { 'Content-Length': size, ETag: `"${size.toString(16).padStart(32, '0')}"`,
                      'Last-Modified': new Date(0).toUTCString(), 'Content-Type': 'application/octet-stream' };
    const range = /^bytes=(\d+)-$/.exec(req.headers.range || '');
    const from = range ? Number(range[1]) : 0;
    if (range) {
        headers['Content-Length'] = size - from;
        headers['Content-Range'] = `bytes ${from}-${size - 1}/${size}`;
    }
    const status = range ? 206 : 200;
    if (req.method === 'HEAD') return { status, headers };
    return mem ? { status, headers, body: mem.subarray(from) } : { status, headers, file, from };
}

const server = https.createServer({
    cert: fs.readFileSync(opt['tls-cert']),
    key: fs.readFileSync(opt['tls-key']),
    keepAliveTimeout: 60000,
}, async (req, res) => {
    const sock = req.socket;
    if (!sock.bcrLinks) sock.bcrLinks = { up: new Link(connRate), down: new Link(connRate) };
    const up = [sock.bcrLinks.up, agg.up];
    const down = [sock.bcrLinks.down, agg.down];
    try {
        const chunks = [];
        await new Promise((resolve, reject) => {
            req.on('data', (chunk) => {
                chunks.push(chunk);
                const wait = book(up, chunk.length);
                if (wait > 1) {
                    req.pause();
                    setTimeout(() => req.resume(), wait);
                }
            });
            req.on('end', resolve);
            req.on('error', reject);
        });
        const received = now();
        const a = answer(req, new URL(req.url, 'https://front'), Buffer.concat(chunks));
        const wait = received + delayMs - now();
        if (wait > 0) await sleep(wait);
        res.writeHead(a.status, a.headers);
        if (a.file)
            await pipePaced(fs.createReadStream(a.file, { start: a.from, highWaterMark: 256 * 1024 }), res, down);
        else if (a.body) await pipePaced(slices(a.body), res, down);
        res.end();
    } catch (err) {
        res.destroy(err);
    }
});
server.on('clientError', (err, socket) => socket.destroy());

server.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});

const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
