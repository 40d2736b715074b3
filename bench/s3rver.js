#!/usr/bin/env node
// bench/s3rver.js: a plain s3rver on a loopback port for `make bench` (no
// checking proxy, no faults: the benchmark measures the step, not the test
// rig). Signatures are verified by s3rver itself with the credentials
// S3RVER / S3RVER; anonymous requests (the transfer-floor client) are allowed.
// With --tls-cert and --tls-key it speaks HTTPS itself (s3rver's own option),
// as S3 does: the Lambda cases use it with a throwaway CA.
//
//   node bench/s3rver.js [--tls-cert PEM --tls-key PEM] DIR BUCKET...
//
// Prints {"port": N} when ready; exits on SIGTERM/SIGINT or when stdin closes.
'use strict';

const path = require('path');
const S3rver = require(path.join(__dirname, '..', 'node_modules', 's3rver'));

const fs = require('fs');

const argv = process.argv.slice(2);
const tls = {};
while (argv[0] === '--tls-cert' || argv[0] === '--tls-key') {
    tls[argv[0] === '--tls-cert' ? 'cert' : 'key'] = fs.readFileSync(argv[1]);
    argv.splice(0, 2);
}
const [dir, ...buckets] = argv;
if (!dir || !buckets.length || !tls.cert !== !tls.key) {
    process.stderr.write('usage: node bench/s3rver.js [--tls-cert PEM --tls-key PEM] DIR BUCKET...\n');
    process.exit(2);
}

const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: buckets.map(name => ({ name })),
    ...tls,
});

server.run().then(({ port }) => {
    process.stdout.write(JSON.stringify({ port }) + '\n');
});

const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
