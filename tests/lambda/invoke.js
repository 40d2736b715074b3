#!/usr/bin/env node
// Invokes a Lambda function through @vercel/fun, an independent
// implementation of the Lambda Runtime API (2018-06-01) that runs "provided"
// functions as Lambda does: it starts $LAMBDA_TASK_ROOT/bootstrap once, hands
// it invocations through the API, freezes it (SIGSTOP) between them, and
// reuses the process until it fails. Used by tests/integration/test_lambda.c.
//
//   node tests/lambda/invoke.js PLAN.json
//
// PLAN (JSON):
//   code:        {"zip": PATH}       the package, as Lambda gets it (Code.ZipFile)
//                {"dir": PATH}       an unpacked package (Code.Directory)
//                {"command": [ARGV...], "set": {NAME: VALUE}, "unset": [NAME...]}
//                                    a generated bootstrap script that changes the
//                                    environment, then execs ARGV (e.g. chroot into a
//                                    bare root, or valgrind)
//   name, region, accessKeyId, secretAccessKey, memory   as Lambda's CreateFunction
//   env:         Environment.Variables (names Lambda reserves are refused by fun)
//   timeout:     seconds; each invocation's deadline is now + timeout (see below)
//   probePort:   if set, each result lists the local ports of the function
//                process's established TCP connections to this port ("sockets"),
//                read from /proc after the invocation: the same ports after a
//                later invocation mean the connections were kept open
//   invocations: [{"payload": STRING, "before": [{"method", "url", "body"}]}]
//                sent as they are, one after the other; "before" lists HTTP
//                requests made first (e.g. to a test server's control endpoints)
//
// Prints one JSON document on stdout:
//   {"results": [{"statusCode", "functionError", "payload", "ms", "traceId", "sockets",
//                 "initMs"}]}
// where functionError is null, "Handled" (the function posted .../error) or
// "Unhandled" (init error, or the process died); ms is the invocation's round
// trip as the caller sees it (a first one includes starting the process); and
// initMs is the init phase, what Lambda reports as "Init Duration": from fun
// spawning the bootstrap until its first GET .../runtime/invocation/next
// arrives (not until fun answers it: fun holds the answer until there is an
// invocation). initMs is null when the invocation started no process (a warm
// one), or when the process it started never asked for an invocation (an init
// error, or it died first). The function's own output goes to this process's
// stdout and stderr (fun's stdio: inherit); it writes its logs to stderr, so
// stdout stays this document alone.
//
// Two things fun 1.3.0 leaves out are filled in here, as Lambda sends them:
// Lambda-Runtime-Deadline-Ms is a fixed 5000 in fun (a TODO in its source),
// not a Unix time in ms; it is replaced with now + timeout. And fun sends no
// Lambda-Runtime-Trace-Id; one is added per invocation, and reported.
'use strict';

const childProcess = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const timeoutMs = Math.round((plan.timeout || 30) * 1000);

let currentTrace = null;
const setHeader = http.ServerResponse.prototype.setHeader;
http.ServerResponse.prototype.setHeader = function (name, value) {
    if (String(name).toLowerCase() === 'lambda-runtime-deadline-ms') {
        value = String(Date.now() + timeoutMs);
        if (currentTrace) setHeader.call(this, 'Lambda-Runtime-Trace-Id', currentTrace);
    }
    return setHeader.call(this, name, value);
};

// The init phase: fun spawns the bootstrap with AWS_LAMBDA_RUNTIME_API set to
// the port of a runtime server of its own, one per process; the process is
// initialised when the first request for an invocation reaches that server.
// Both hooks go in before fun is loaded; spawns without AWS_LAMBDA_RUNTIME_API
// (tree-kill's ps) are not the function's. Times are process.hrtime.bigint().
const spawnedAt = new Map(); // runtime API port -> when its process was spawned
const initMsByPort = new Map(); // runtime API port -> init phase in ms
let spawnedPorts = []; // ports of the processes spawned during the current invocation
const spawn = childProcess.spawn;
childProcess.spawn = function (command, args, options) {
    const api = options && options.env && options.env.AWS_LAMBDA_RUNTIME_API;
    if (api) {
        const port = Number(String(api).split(':').pop());
        spawnedAt.set(port, process.hrtime.bigint());
        spawnedPorts.push(port);
    }
    return spawn.apply(this, arguments);
};
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, req) {
    // 'request' is emitted as soon as a request's headers are parsed.
    if (event === 'request' && /\/runtime\/invocation\/next(\?|$)/.test(req.url)) {
        const address = this.address();
        const port = address && address.port;
        if (spawnedAt.has(port) && !initMsByPort.has(port))
            initMsByPort.set(port, Number(process.hrtime.bigint() - spawnedAt.get(port)) / 1e6);
    }
    return emit.apply(this, arguments);
};

const { createFunction } = require('@vercel/fun');

function shellQuote(s) {
    return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

// A Code.Directory whose bootstrap adjusts the environment and execs a command.
function wrapperDir(code) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bcr-lambda-wrap-'));
    const lines = ['#!/bin/sh'];
    for (const name of code.unset || []) lines.push(`unset ${name}`);
    for (const [name, value] of Object.entries(code.set || {}))
        lines.push(`export ${name}=${shellQuote(value)}`);
    lines.push(`exec ${code.command.map(shellQuote).join(' ')}`);
    fs.writeFileSync(path.join(dir, 'bootstrap'), lines.join('\n') + '\n', { mode: 0o755 });
    return dir;
}

// Local ports of the established TCP connections to `port` held by this
// process's children (fun spawns the function directly; bootstrap execs).
function childSockets(port) {
    const inodes = new Set();
    for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
            const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
            if (ppid !== process.pid) continue;
            for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
                const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
                if (m) inodes.add(m[1]);
            }
        } catch (err) {
            // the process went away meanwhile
        }
    }
    const ports = [];
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
        let lines = [];
        try {
            lines = fs.readFileSync(table, 'utf8').split('\n').slice(1);
        } catch (err) {
            continue;
        }
        for (const line of lines) {
            const f = line.trim().split(/\s+/);
            if (f.length < 10 || f[3] !== '01' || !inodes.has(f[9])) continue;
            if (parseInt(f[2].split(':').pop(), 16) === port)
                ports.push(parseInt(f[1].split(':').pop(), 16));
        }
    }
    return ports.sort((a, b) => a - b);
}

// The init phase of the process started during an invocation (fun starts at
// most one per invocation), or null.
function initMsOf(ports) {
    for (const port of ports) if (initMsByPort.has(port)) return initMsByPort.get(port);
    return null;
}

async function main() {
    const code = plan.code || {};
    let Code;
    let tempDir = null;
    if (code.zip) Code = { ZipFile: fs.readFileSync(code.zip) };
    else if (code.dir) Code = { Directory: code.dir };
    else if (code.command) Code = { Directory: (tempDir = wrapperDir(code)) };
    else throw new Error('plan.code needs zip, dir or command');

    const fn = await createFunction({
        Code,
        FunctionName: plan.name || 'backend-checks-results',
        Handler: 'bootstrap',
        Runtime: 'provided',
        Region: plan.region || 'eu-west-2',
        AccessKeyId: plan.accessKeyId,
        SecretAccessKey: plan.secretAccessKey,
        MemorySize: plan.memory || 512,
        Timeout: plan.timeout || 30,
        Environment: { Variables: plan.env || {} },
    });
    const results = [];
    try {
        for (const inv of plan.invocations || []) {
            for (const req of inv.before || []) {
                const res = await fetch(req.url, { method: req.method || 'GET', body: req.body });
                if (!res.ok) throw new Error(`${req.method} ${req.url}: HTTP ${res.status}`);
                await res.arrayBuffer();
            }
            currentTrace =
                `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-` +
                `${crypto.randomBytes(12).toString('hex')};` +
                `Parent=${crypto.randomBytes(8).toString('hex')};Sampled=0`;
            spawnedPorts = [];
            const start = process.hrtime.bigint();
            const r = await fn.invoke({
                InvocationType: 'RequestResponse',
                Payload: inv.payload,
            });
            const ms = Number(process.hrtime.bigint() - start) / 1e6;
            results.push({
                statusCode: r.StatusCode,
                functionError: r.FunctionError || null,
                payload: typeof r.Payload === 'string' ? r.Payload : String(r.Payload),
                ms,
                traceId: currentTrace,
                sockets: plan.probePort ? childSockets(plan.probePort) : null,
                initMs: initMsOf(spawnedPorts),
            });
        }
    } finally {
        await fn.destroy();
        if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
    }
    process.stdout.write(JSON.stringify({ results }) + '\n');
}

main().catch((err) => {
    process.stderr.write(`invoke.js: ${err && err.stack ? err.stack : err}\n`);
    process.exit(2);
});
