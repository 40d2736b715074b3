#!/usr/bin/env node
// A strict Lambda Runtime API (2018-06-01) of the project's own, written from
// the Runtime API documentation and the rules of AWS's Runtime Interface
// Emulator, for what @vercel/fun (tests/lambda/invoke.js) leaves out. No npm
// dependency. Used by tests/integration/test_lambda.c.
//
//   node tests/lambda/strict.js PLAN.json
//
// What it does as Lambda does:
// - starts DIR/bootstrap (cwd DIR, LAMBDA_TASK_ROOT=DIR) once, with the
//   variables Lambda sets, and reuses the process until it fails; freezes it
//   (SIGSTOP) between invocations and thaws it (SIGCONT) for the next;
// - each invocation: a fresh request id, Lambda-Runtime-Deadline-Ms = now +
//   timeout (a Unix time in ms), a Lambda-Runtime-Trace-Id, the function ARN;
// - a POST for any request id but the current one: 400 (InvalidRequestID);
//   a response body over 6 MB (6291456 bytes): 413, and the invocation fails
//   with Function.ResponseSizeTooLarge;
// - the Lambda-Runtime-Function-Error-Type header is kept only if it matches
//   (Runtime|Function)\.[A-Z][a-zA-Z]+ (else Function.Unknown for a
//   "Function." prefix, Runtime.Unknown otherwise), as the service rewrites it;
//   the Lambda-Runtime-Function-XRay-Error-Cause header must be a JSON object
//   with one of working_directory, paths, exceptions, message and at most
//   64 KiB, or it is dropped;
// - an error posted by the function is reported as "Unhandled", as Lambda
//   reports every error a custom runtime posts;
// - at the deadline the process is killed (SIGKILL) and the invocation fails
//   with Sandbox.Timedout; an init error, or the process exiting, fails the
//   invocation with Runtime.ExitError and the next one starts a new process;
// - at the end (shutdown): SIGTERM, then SIGKILL after 500 ms;
// - with AWS_LAMBDA_LOG_FORMAT=JSON and an AWS_LAMBDA_LOG_LEVEL, applies
//   Lambda's log-level filter to the function's stderr and stdout: a line is
//   kept if its "level" is at or above the configured one, where a line that
//   is not a JSON object, or lacks a valid "level" or an RFC 3339 "timestamp",
//   counts as INFO.
//
// PLAN (JSON): dir (the unpacked package), name, region, accessKeyId,
// secretAccessKey, memory, timeout (seconds), env, invocations [{payload,
// before: [{method, url, body}]}] as in invoke.js; launcher (optional argv
// prefix for bootstrap, e.g. ["qemu-aarch64"]).
//
// Prints one JSON document on stdout:
//   {"results": [{functionError, payload, errorType (the header as kept),
//                 errorTypeSent (as sent), xrayCause (kept, parsed, or null),
//                 xrayCauseSent (bool), requestId, traceId, ms, pid}],
//    "rejected": [{method, url, status, reason}],   every request refused
//    "userAgents": [...],                            distinct User-Agent values
//    "logs": [...], "droppedLogs": N,                the function's lines as kept
//    "shutdown": {"pid", "term", "killed", "gone"}}  the last process's end
// The function's raw output also goes to this process's stderr.
'use strict';

const childProcess = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');

const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const timeoutMs = Math.round((plan.timeout || 30) * 1000);
const MAX_RESPONSE = 6291456;
const MAX_XRAY_CAUSE = 64 * 1024;
const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const API = '/2018-06-01/runtime';

const env = Object.assign({}, plan.env || {});
const logFormat = String(env.AWS_LAMBDA_LOG_FORMAT || 'Text');
const logLevel = String(env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase();
const filtering = logFormat.toUpperCase() === 'JSON' && LEVELS.includes(logLevel);

const out = { results: [], rejected: [], userAgents: [], logs: [], droppedLogs: 0, shutdown: null };

// ---- the function's logs, through Lambda's level filter ----

function levelOf(line) {
    let v;
    try {
        v = JSON.parse(line);
    } catch (err) {
        return 'INFO';
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) return 'INFO';
    const level = typeof v.level === 'string' ? v.level.toUpperCase() : '';
    const ts = typeof v.timestamp === 'string' ? v.timestamp : '';
    const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
    if (!LEVELS.includes(level) || !rfc3339.test(ts) || isNaN(Date.parse(ts))) return 'INFO';
    return level;
}

function collect(stream) {
    let pending = '';
    stream.on('data', (chunk) => {
        process.stderr.write(chunk);
        pending += chunk.toString('utf8');
        let nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            if (!line) continue;
            if (filtering && LEVELS.indexOf(levelOf(line)) < LEVELS.indexOf(logLevel))
                out.droppedLogs++;
            else out.logs.push(line);
        }
    });
}

// ---- the function's process ----

let proc = null; // {child, pid, exited: Promise, code, signal, initError}
let current = null; // the invocation in flight
let waitingNext = null; // a GET next held until there is an invocation

function startProcess() {
    const childEnv = Object.assign({}, env, {
        AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${server.address().port}`,
        LAMBDA_TASK_ROOT: plan.dir,
        LAMBDA_RUNTIME_DIR: plan.dir,
        _HANDLER: 'bootstrap',
        AWS_LAMBDA_FUNCTION_NAME: plan.name || 'backend-checks-results',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(plan.memory || 512),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_REGION: plan.region || 'eu-west-2',
        AWS_DEFAULT_REGION: plan.region || 'eu-west-2',
        AWS_EXECUTION_ENV: 'AWS_Lambda_provided.al2023',
        PATH: process.env.PATH,
        TZ: ':UTC',
    });
    if (plan.accessKeyId) childEnv.AWS_ACCESS_KEY_ID = plan.accessKeyId;
    if (plan.secretAccessKey) childEnv.AWS_SECRET_ACCESS_KEY = plan.secretAccessKey;
    // plan.launcher: an argv prefix to run bootstrap under (["qemu-aarch64"]:
    // another architecture's package, under qemu-user); the signals go to it.
    const launcher = plan.launcher || [];
    const argv = [...launcher, `${plan.dir}/bootstrap`];
    const child = childProcess.spawn(argv[0], argv.slice(1), {
        cwd: plan.dir,
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group, so that nothing it starts outlives it
    });
    const p = { child, pid: child.pid, code: null, signal: null, initError: null, gone: false };
    p.exited = new Promise((resolve) => {
        child.on('exit', (code, signal) => {
            p.code = code;
            p.signal = signal;
            p.gone = true;
            resolve();
        });
    });
    collect(child.stdout);
    collect(child.stderr);
    proc = p;
    return p;
}

function killGroup(p, signal) {
    try {
        process.kill(-p.pid, signal);
    } catch (err) {
        // already gone
    }
}

function groupAlive(p) {
    try {
        process.kill(-p.pid, 0);
        return true;
    } catch (err) {
        return false;
    }
}

// ---- the Runtime API ----

function reject(req, res, status, errorType, reason) {
    out.rejected.push({ method: req.method, url: req.url, status, reason });
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errorMessage: reason, errorType }));
}

function accepted(res) {
    res.writeHead(202, { 'Content-Type': 'application/json' });
    res.end('{"status":"OK"}');
}

function validErrorType(t) {
    if (/(Runtime|Function)\.[A-Z][a-zA-Z]+/.test(t)) return t;
    return t.startsWith('Function.') ? 'Function.Unknown' : 'Runtime.Unknown';
}

function validXrayCause(header) {
    if (!header || header.length > MAX_XRAY_CAUSE) return null;
    let v;
    try {
        v = JSON.parse(header);
    } catch (err) {
        return null;
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
    const any =
        (v.working_directory && String(v.working_directory).length) ||
        (Array.isArray(v.paths) && v.paths.length) ||
        (Array.isArray(v.exceptions) && v.exceptions.length) ||
        (v.message && String(v.message).length);
    return any ? v : null;
}

function hand(res) {
    const inv = current;
    inv.sent = true;
    inv.deadline = Date.now() + timeoutMs;
    res.writeHead(200, {
        'Content-Type': 'application/json',
        'Lambda-Runtime-Aws-Request-Id': inv.requestId,
        'Lambda-Runtime-Deadline-Ms': String(inv.deadline),
        'Lambda-Runtime-Trace-Id': inv.traceId,
        'Lambda-Runtime-Invoked-Function-Arn': `arn:aws:lambda:${plan.region || 'eu-west-2'}:123456789012:function:${plan.name || 'f'}`,
    });
    res.end(inv.payload);
    inv.timer = setTimeout(() => {
        killGroup(proc, 'SIGKILL');
        finish(inv, 'Unhandled', {
            errorType: 'Sandbox.Timedout',
            errorMessage: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
        });
    }, Math.max(0, inv.deadline - Date.now()));
}

function finish(inv, functionError, payload, extra) {
    if (inv.done) return;
    inv.done = true;
    clearTimeout(inv.timer);
    inv.resolve(
        Object.assign(
            {
                functionError,
                payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
                errorType: null,
                errorTypeSent: null,
                xrayCause: null,
                xrayCauseSent: false,
                requestId: inv.requestId,
                traceId: inv.traceId,
                pid: proc ? proc.pid : null,
            },
            extra || {},
        ),
    );
}

function readBody(req, limit) {
    return new Promise((resolve) => {
        const chunks = [];
        let size = 0;
        req.on('data', (c) => {
            size += c.length;
            if (size <= limit) chunks.push(c);
        });
        req.on('end', () => resolve({ body: Buffer.concat(chunks), size }));
    });
}

const server = http.createServer(async (req, res) => {
    const ua = req.headers['user-agent'] || '';
    if (!out.userAgents.includes(ua)) out.userAgents.push(ua);
    const url = req.url;
    if (req.method === 'GET' && url === `${API}/invocation/next`) {
        if (current && !current.sent) return hand(res);
        waitingNext = res;
        return;
    }
    if (req.method === 'POST' && url === `${API}/init/error`) {
        const { body } = await readBody(req, MAX_RESPONSE);
        proc.initError = {
            body: body.toString('utf8'),
            errorType: validErrorType(String(req.headers['lambda-runtime-function-error-type'] || '')),
        };
        return accepted(res);
    }
    const m = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    if (req.method !== 'POST' || !m) return reject(req, res, 404, 'NotFound', 'no such endpoint');
    const { body, size } = await readBody(req, MAX_RESPONSE);
    const inv = current;
    if (!inv || !inv.sent || inv.done || decodeURIComponent(m[1]) !== inv.requestId)
        return reject(req, res, 400, 'InvalidRequestID', 'Invalid request ID');
    if (m[2] === 'response') {
        if (size > MAX_RESPONSE) {
            reject(req, res, 413, 'RequestEntityTooLarge', `response of ${size} bytes`);
            return finish(inv, 'Unhandled', {
                errorType: 'Function.ResponseSizeTooLarge',
                errorMessage: `Response payload size (${size} bytes) exceeded maximum allowed payload size (${MAX_RESPONSE} bytes).`,
            });
        }
        accepted(res);
        return finish(inv, null, body.toString('utf8'));
    }
    const sent = req.headers['lambda-runtime-function-error-type'];
    const cause = req.headers['lambda-runtime-function-xray-error-cause'];
    accepted(res);
    finish(inv, 'Unhandled', body.toString('utf8'), {
        errorTypeSent: sent === undefined ? null : String(sent),
        errorType: validErrorType(String(sent || '')),
        xrayCause: validXrayCause(cause),
        xrayCauseSent: cause !== undefined,
    });
});

// ---- invocations ----

function newTraceId() {
    return (
        `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${crypto.randomBytes(12).toString('hex')};` +
        `Parent=${crypto.randomBytes(8).toString('hex')};Sampled=1`
    );
}

async function invoke(payload) {
    const inv = { requestId: crypto.randomUUID(), traceId: newTraceId(), payload, sent: false };
    const settled = new Promise((resolve) => (inv.resolve = resolve));
    current = inv;
    const start = process.hrtime.bigint();
    if (!proc || proc.gone) {
        waitingNext = null;
        startProcess();
    } else {
        killGroup(proc, 'SIGCONT');
    }
    if (waitingNext) {
        const res = waitingNext;
        waitingNext = null;
        hand(res);
    }
    const p = proc;
    // The process dying (an init error, a crash) fails the invocation.
    p.exited.then(() => {
        const init = p.initError;
        finish(inv, 'Unhandled', init ? init.body : { errorType: 'Runtime.ExitError', errorMessage: `exit ${p.code} signal ${p.signal}` }, init ? { errorType: init.errorType } : {});
    });
    const result = await settled;
    result.ms = Number(process.hrtime.bigint() - start) / 1e6;
    current = null;
    if (p.initError || result.payload.includes('Sandbox.Timedout')) {
        killGroup(p, 'SIGKILL');
        await p.exited;
    } else if (!p.gone) {
        // Frozen once it asks for the next invocation (or soon after).
        await new Promise((r) => setTimeout(r, 50));
        killGroup(p, 'SIGSTOP');
    }
    return result;
}

async function shutdown() {
    if (!proc) return;
    const p = proc;
    const info = { pid: p.pid, term: false, killed: false, gone: false };
    if (!p.gone) {
        killGroup(p, 'SIGCONT');
        killGroup(p, 'SIGTERM');
        info.term = true;
        const timer = new Promise((r) => setTimeout(r, 500));
        await Promise.race([p.exited, timer]);
        if (!p.gone) {
            killGroup(p, 'SIGKILL');
            info.killed = true;
            await p.exited;
        }
    }
    // Give the kernel a moment to reap the rest of the group.
    for (let i = 0; i < 20 && groupAlive(p); i++) await new Promise((r) => setTimeout(r, 50));
    info.gone = p.gone && !groupAlive(p);
    info.code = p.code;
    info.signal = p.signal;
    out.shutdown = info;
}

async function main() {
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
        for (const inv of plan.invocations || []) {
            for (const req of inv.before || []) {
                const res = await fetch(req.url, { method: req.method || 'GET', body: req.body });
                if (!res.ok) throw new Error(`${req.method} ${req.url}: HTTP ${res.status}`);
                await res.arrayBuffer();
            }
            out.results.push(await invoke(inv.payload));
        }
    } finally {
        await shutdown();
        server.closeAllConnections();
        server.close();
    }
    process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
    process.stderr.write(`strict.js: ${err && err.stack ? err.stack : err}\n`);
    process.exit(2);
});
