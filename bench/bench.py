#!/usr/bin/env python3
"""bench/bench.py: runs the step and the Python reference side by side (`make bench`).

For each size it generates a realistic export (bench/gen_results.py, two SUCCEEDED files), then
measures, in one run on this machine:
  - dir:   the C program with --store, the reference with --dir, and the copy floor
           (bench/copyfloor: read every input, write a file of the output's size, fsync, rename);
  - big:   (--big-gib) several GiB of results in many files: the C program and the copy floor
           only (the reference would need ~4 GB of RAM per GB of results);
  - s3:    (--s3) the same export in s3rver on loopback: the C program (--endpoint-url), the
           reference (boto3), the transfer floor (curl: GET of every input, PUT of a body of
           the output's size) and the multipart floor (bench/multipartfloor, one connection:
           GET of every input, then a body of the output's size as a multipart upload in 8 MiB
           parts, as the program must upload an output of unknown length);
  - lambda: (--package function.zip) first and warm invocations under the Runtime API emulator
           (@vercel/fun, tests/lambda/invoke.js) on a 20-entry export in s3rver over HTTPS
           (a throwaway CA, appended to the system's CA bundle as the functions' trust store,
           as a Lambda function verifies S3 against a full bundle): the package against the
           Python reference handler (bench/lambda_ref.py, Debian's boto3, byte-compiled), the
           emulator's floor (bench/lambda_floor, static, as the package's bootstrap: a function
           that answers {} and does nothing else), and with --before-package an earlier
           package, all interleaved in each repetition. Time as
           invoke.js measures it (the invocation round trip; a first one includes starting the
           process), and the init phase (Lambda's "Init Duration": from starting the process
           until it first asks for an invocation, invoke.js's initMs).
Each timing is the median of --repeat runs (the reference's large runs once); peak RSS is the
largest ru_maxrss of the runs (wait4). Before every timed run the page cache's dirty pages are
written back (sync), so one run's output does not slow the next one down; inputs are warm.

Prints a table, and writes OUT/results.tsv, OUT/table.md and OUT/benchmarks.svg (gnuplot).
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUCKET = "tdr-backend-checks-intg"
MEASURE = MEASURE_DIR = None  # set in main


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def measure(argv, stdin_path=None, env=None):
    """Runs argv under bench/measure; returns (seconds, peak RSS KiB, user s, sys s, stdout)."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    full_env = dict(os.environ)
    full_env.update(env or {})
    report = os.path.join(MEASURE_DIR, "measure.report")
    p = subprocess.run([MEASURE, report] + argv, stdin=stdin, capture_output=True, env=full_env)
    if stdin_path:
        stdin.close()
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), p.returncode,
                                                   p.stderr.decode(errors="replace")[-2000:]))
    with open(report) as f:
        seconds, rss, user, sys_ = f.read().split()
    os.unlink(report)
    return float(seconds), int(rss), float(user), float(sys_), p.stdout.decode()


def settle():
    """Writes back dirty pages so that each timed run starts from the same state."""
    os.sync()
    time.sleep(0.2)


class Result:
    def __init__(self, case, impl, entries, in_bytes):
        self.case, self.impl, self.entries, self.in_bytes = case, impl, entries, in_bytes
        self.out_bytes = 0
        self.times, self.rss, self.user, self.sys = [], 0, [], []

    def add(self, seconds, rss, user, sys_):
        self.times.append(seconds)
        self.user.append(user)
        self.sys.append(sys_)
        self.rss = max(self.rss, rss)

    @property
    def seconds(self):
        return statistics.median(self.times) if self.times else None


def generate(data, n, files=2):
    """Generates (once) an export of n entries; returns (store dir, event path, inputs)."""
    store = os.path.join(data, "d%d" % n if files == 2 else "d%d-%d" % (n, files))
    event = store + ".event"
    if not os.path.exists(event):
        shutil.rmtree(store, ignore_errors=True)
        log("generating %d entries in %d files ..." % (n, files))
        with open(event + ".tmp", "wb") as f:
            subprocess.run([sys.executable, os.path.join(HERE, "gen_results.py"), store, str(n),
                            "--files", str(files)], stdout=f, check=True)
        os.rename(event + ".tmp", event)
    return store, event, inputs_of(store, event)


def inputs_of(store, event):
    with open(event) as f:
        d = json.load(f)["results"]["ResultWriterDetails"]
    with open(os.path.join(store, d["Bucket"], d["Key"])) as f:
        manifest = json.load(f)
    return [os.path.join(store, d["Bucket"], r["Key"]) for r in
            manifest["ResultFiles"]["SUCCEEDED"]]


def reply_path(store, reply):
    r = json.loads(reply)
    return os.path.join(store, r["bucket"], r["key"])


def remove_output(path):
    """Removes results.json and its {uuid} directory."""
    if os.path.exists(path):
        os.unlink(path)
    try:
        os.rmdir(os.path.dirname(path))
    except OSError:
        pass


def dir_case(args, n, results, case="dir", store=None, event=None, inputs=None, with_ref=True):
    if store is None:
        store, event, inputs = generate(args.data, n)
    in_bytes = sum(os.path.getsize(p) for p in inputs)
    c = Result(case, "C", n, in_bytes)
    ref = Result(case, "Python", n, in_bytes)
    floor = Result(case, "copy floor", n, in_bytes)
    # Warm the page cache with the inputs (untimed).
    subprocess.run([args.copyfloor, "--no-fsync", os.path.join(args.data, "warm"), "0"] + inputs,
                   stdout=subprocess.DEVNULL, check=True)
    os.unlink(os.path.join(args.data, "warm"))
    c_out = None
    for i in range(args.repeat):
        settle()
        s, rss, u, sy, out = measure([args.bin, "--store", store, event],
                                     env={"AWS_LAMBDA_LOG_LEVEL": "WARN"})
        c.add(s, rss, u, sy)
        path = reply_path(store, out)
        c.out_bytes = os.path.getsize(path)
        if i == 0 and with_ref and args.verify:
            c_out = path
        else:
            remove_output(path)
    log("  %-6s %8d entries  C %.3f s" % (case, n, c.seconds))
    if with_ref:
        ref_repeat = 1 if n >= 50000 else args.repeat
        for i in range(ref_repeat):
            settle()
            s, rss, u, sy, out = measure([args.python, os.path.join(HERE, "reference.py"), "--dir",
                                          store], stdin_path=event)
            ref.add(s, rss, u, sy)
            path = reply_path(store, out)
            ref.out_bytes = os.path.getsize(path)
            if c_out and i == 0:
                verify(c_out, path)
                remove_output(c_out)
                c_out = None
            remove_output(path)
        log("  %-6s %8d entries  Python %.3f s" % (case, n, ref.seconds))
    floor_path = os.path.join(store, BUCKET, "copyfloor.out")
    for i in range(args.repeat):
        settle()
        s, rss, u, sy, _ = measure([args.copyfloor, floor_path, str(c.out_bytes)] + inputs)
        floor.add(s, rss, u, sy)
        os.unlink(floor_path)
    floor.out_bytes = c.out_bytes
    results += [c, ref, floor] if with_ref else [c, floor]


def verify(c_path, ref_path):
    with open(c_path, "rb") as f:
        a = json.load(f)
    with open(ref_path, "rb") as f:
        b = json.load(f)
    if a != b:
        raise RuntimeError("the C program's results.json differs from the reference's")
    log("  verified: results.json equal to the reference's (%d results)" % len(a["results"]))


def big_case(args, results):
    """--big-gib GiB of results: hard links to the 100k export's files, many times over."""
    store, event, inputs = generate(args.data, 100000)
    big = os.path.join(args.data, "big")
    shutil.rmtree(big, ignore_errors=True)
    with open(event) as f:
        ev = json.load(f)
    d = ev["results"]["ResultWriterDetails"]
    prefix = d["Key"].rsplit("/", 1)[0]
    per = sum(os.path.getsize(p) for p in inputs)
    copies = max(1, round(args.big_gib * 2**30 / per))
    os.makedirs(os.path.join(big, BUCKET, prefix))
    files = []
    for k in range(copies * len(inputs)):
        key = "%s/SUCCEEDED_%d.json" % (prefix, k)
        src = inputs[k % len(inputs)]
        os.link(src, os.path.join(big, BUCKET, key))
        files.append({"Key": key, "Size": os.path.getsize(src)})
    manifest = {"DestinationBucket": BUCKET, "ResultFiles": {"FAILED": [], "PENDING": [],
                                                            "SUCCEEDED": files}}
    with open(os.path.join(big, BUCKET, d["Key"]), "w") as f:
        json.dump(manifest, f)
    big_event = big + ".event"
    with open(big_event, "w") as f:
        json.dump(ev, f)
    big_inputs = [os.path.join(big, BUCKET, x["Key"]) for x in files]
    log("big: %d files, %.2f GiB" % (len(files), per * copies / 2**30))
    saved = args.repeat
    args.repeat = 1
    try:
        dir_case(args, 100000 * copies, results, case="big", store=big, event=big_event,
                 inputs=big_inputs, with_ref=False)
    finally:
        args.repeat = saved
        shutil.rmtree(big, ignore_errors=True)
        os.unlink(big_event)


class S3Server:
    """s3rver on a loopback port; over HTTPS with pki (make_pki's result)."""

    def __init__(self, directory, pki=None):
        tls = ["--tls-cert", pki["cert"], "--tls-key", pki["key"]] if pki else []
        self.p = subprocess.Popen(["node", os.path.join(HERE, "s3rver.js")] + tls +
                                  [directory, BUCKET],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("s3rver did not start")
        self.port = json.loads(line)["port"]
        self.url = "%s://127.0.0.1:%d" % ("https" if pki else "http", self.port)
        self.curl = ["curl", "--cacert", pki["ca"]] if pki else ["curl"]

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=30)


S3_ENV = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER",
          "AWS_SESSION_TOKEN": "", "AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "eu-west-2",
          "AWS_LAMBDA_LOG_LEVEL": "WARN"}


def s3_case(args, n, results):
    store, event, inputs = generate(args.data, n)
    s3dir = os.path.join(args.data, "s3rver")
    shutil.rmtree(s3dir, ignore_errors=True)
    os.makedirs(s3dir)
    server = S3Server(s3dir)
    try:
        env = dict(os.environ, **S3_ENV)
        upload_export(server, store)
        root = os.path.join(store, BUCKET)
        in_bytes = sum(os.path.getsize(p) for p in inputs)
        c = Result("s3", "C", n, in_bytes)
        ref = Result("s3", "Python", n, in_bytes)
        floor = Result("s3", "transfer floor", n, in_bytes)
        mfloor = Result("s3", "multipart floor", n, in_bytes)
        for i in range(args.repeat):
            settle()
            s, rss, u, sy, out = measure([args.bin, "--endpoint-url", server.url, event],
                                         env=S3_ENV)
            c.add(s, rss, u, sy)
            key = json.loads(out)["key"]
            if i == 0:
                c_key = key
        c.out_bytes = object_size(server, c_key)
        log("  s3     %8d entries  C %.3f s" % (n, c.seconds))
        ref_repeat = 1 if n >= 50000 else args.repeat
        for i in range(ref_repeat):
            settle()
            s, rss, u, sy, out = measure([args.python, os.path.join(HERE, "reference.py"),
                                          "--endpoint", server.url], stdin_path=event, env=S3_ENV)
            ref.add(s, rss, u, sy)
        ref.out_bytes = c.out_bytes
        log("  s3     %8d entries  Python %.3f s" % (n, ref.seconds))
        # The transfer floor: one curl, one connection: GET every input, then PUT a body of the
        # output's size.
        body = os.path.join(args.data, "s3-body")
        with open(body, "wb") as f:
            f.truncate(c.out_bytes)
        keys = [os.path.relpath(p, root) for p in inputs]
        urls = []
        for key in keys:
            urls += ["-o", "/dev/null", "%s/%s/%s" % (server.url, BUCKET, key)]
        for i in range(args.repeat):
            settle()
            s, rss, u, sy, _ = measure(["curl", "-sfS"] + urls +
                                       ["--next", "-sfS", "-o", "/dev/null", "-T", body,
                                        "%s/%s/floor/results.json" % (server.url, BUCKET)])
            floor.add(s, rss, u, sy)
        floor.out_bytes = c.out_bytes
        log("  s3     %8d entries  transfer floor %.3f s" % (n, floor.seconds))
        # The multipart floor: the same GETs, then the body as a multipart upload in 8 MiB
        # parts on the same connection (s3rver's CompleteMultipartUpload writes the object
        # again, which the single PUT above does not pay).
        for i in range(args.repeat):
            settle()
            s, rss, u, sy, _ = measure([args.multipartfloor, server.url, BUCKET,
                                        "multipart-floor/results.json", body] + keys)
            mfloor.add(s, rss, u, sy)
        mfloor.out_bytes = object_size(server, "multipart-floor/results.json")
        if mfloor.out_bytes != c.out_bytes:
            raise RuntimeError("multipart floor: uploaded %d bytes, not %d" % (mfloor.out_bytes,
                                                                              c.out_bytes))
        log("  s3     %8d entries  multipart floor %.3f s" % (n, mfloor.seconds))
        os.unlink(body)
        results += [c, ref, floor, mfloor]
    finally:
        server.stop()
        shutil.rmtree(s3dir, ignore_errors=True)


def object_size(server, key):
    """The size of an object in s3rver (a HEAD's Content-Length)."""
    head = subprocess.run(server.curl + ["-sfSI", "%s/%s/%s" % (server.url, BUCKET, key)],
                          check=True, capture_output=True, text=True).stdout
    return int([l.split(":")[1] for l in head.splitlines()
                if l.lower().startswith("content-length")][0])


def upload_export(server, store):
    """Puts every object of a generated export into s3rver (untimed); returns their keys."""
    root = os.path.join(store, BUCKET)
    keys = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            key = os.path.relpath(path, root)
            if "/" not in key or not key.endswith(".json"):
                continue
            keys.append(key)
            subprocess.run(server.curl + ["-sfS", "-o", "/dev/null", "-T", path,
                            "%s/%s/%s" % (server.url, BUCKET, key)], check=True)
    return keys


def invoke_plan(plan, data):
    """Runs tests/lambda/invoke.js on a plan; returns the invocations' results."""
    path = os.path.join(data, "plan.json")
    with open(path, "w") as f:
        json.dump(plan, f)
    p = subprocess.run(["node", os.path.join(ROOT, "tests", "lambda", "invoke.js"), path],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("invoke.js failed: %s" % p.stderr[-2000:])
    results = json.loads(p.stdout)["results"]
    for r in results:
        if r["functionError"]:
            raise RuntimeError("invocation failed: %s" % r["payload"][:2000])
    return results


def make_pki(data):
    """A throwaway CA (P-256) and a certificate for 127.0.0.1 it signs, made with the openssl
    command. The trust stores the functions get: the system's CA bundle with the CA appended,
    so that loading it costs what a full bundle costs on Lambda, and the system's hashed CA
    directory (OpenSSL's HASH.N links) with the CA added, the form the program looks for
    first. Returns their paths ("dir": the directory)."""
    d = os.path.abspath(os.path.join(data, "pki"))
    os.makedirs(d, exist_ok=True)
    pki = {k: os.path.join(d, k + ".pem") for k in ("ca", "ca_key", "cert", "key", "bundle")}
    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", pki["ca_key"], "-out",
                    pki["ca"], "-days", "2", "-subj", "/CN=backend-checks-results bench CA",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign"], **quiet)
    csr = os.path.join(d, "server.csr")
    subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", pki["key"], "-out", csr, "-subj", "/CN=127.0.0.1"],
                   **quiet)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", pki["ca"], "-CAkey",
                    pki["ca_key"], "-CAcreateserial", "-out", pki["cert"], "-days", "2",
                    "-extfile", ext], **quiet)
    with open(pki["bundle"], "wb") as out:
        if os.path.exists(SYSTEM_CA_BUNDLE):
            with open(SYSTEM_CA_BUNDLE, "rb") as f:
                out.write(f.read())
        with open(pki["ca"], "rb") as f:
            out.write(f.read())
    pki["dir"] = os.path.join(d, "certs")
    os.makedirs(pki["dir"], exist_ok=True)
    if os.path.isdir(SYSTEM_CA_DIR):
        for name in os.listdir(SYSTEM_CA_DIR):
            if name.endswith(".pem"):
                os.symlink(os.path.realpath(os.path.join(SYSTEM_CA_DIR, name)),
                           os.path.join(pki["dir"], name))
    shutil.copy(pki["ca"], os.path.join(pki["dir"], "bench-ca.pem"))
    subprocess.run(["openssl", "rehash", pki["dir"]], **quiet)
    return pki


SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
SYSTEM_CA_DIR = "/etc/ssl/certs"


def package_dir(data, name, bootstrap):
    """An unpacked package (Code.Directory) whose bootstrap is a copy of the given program."""
    d = os.path.abspath(os.path.join(data, name))
    os.makedirs(d, exist_ok=True)
    shutil.copy(bootstrap, os.path.join(d, "bootstrap"))
    return d


def lambda_case(args, results, n=20, warm=5):
    """Cold start (first invocation of a fresh function), its init phase (process start to
    the first request for an invocation) and warm invocations under the @vercel/fun Runtime API
    emulator: the package (function.zip) against the Python reference handler
    (bench/lambda_ref.py, a `provided` function too), both on s3rver over HTTPS. The cases
    take turns within each repetition, so that the machine's load falls on all of them."""
    store, event, inputs = generate(args.data, n, files=1)
    with open(event) as f:
        payload = f.read()
    s3dir = os.path.join(args.data, "s3rver-lambda")
    shutil.rmtree(s3dir, ignore_errors=True)
    os.makedirs(s3dir)
    pki = make_pki(args.data)
    server = S3Server(s3dir, pki)
    try:
        upload_export(server, store)
        in_bytes = sum(os.path.getsize(p) for p in inputs)
        common = {"name": "backend-checks-results", "region": "eu-west-2",
                  "accessKeyId": "S3RVER", "secretAccessKey": "S3RVER", "timeout": 60,
                  "memory": 512, "invocations": [{"payload": payload}] * (1 + warm)}
        # The package finds the hashed directory itself on Lambda; here it is named. The
        # earlier package reads a bundle only; so does the "C, CA bundle" row, to show what
        # the directory saves.
        c_env = {"AWS_ENDPOINT_URL_S3": server.url, "SSL_CERT_DIR": pki["dir"]}
        bundle_env = {"AWS_ENDPOINT_URL_S3": server.url, "SSL_CERT_FILE": pki["bundle"]}
        plans = {"C": dict(common, code={"zip": args.package}, env=c_env),
                 "C, CA bundle": dict(common, code={"zip": args.package}, env=bundle_env)}
        if args.before_package:
            plans["C before"] = dict(common, code={"zip": args.before_package}, env=bundle_env)
        plans["Python"] = dict(common, code={"command": [args.python,
                                                         os.path.join(HERE, "lambda_ref.py")],
                                             "set": {"BENCH_S3_ENDPOINT": server.url,
                                                     "AWS_CA_BUNDLE": pki["bundle"]}}, env={})
        if args.lambda_floor:
            floor = package_dir(args.data, "lambda-floor", args.lambda_floor)
            plans["emulator floor"] = dict(common, code={"dir": floor}, env={})
        rows = {impl: (Result("lambda cold", impl, n, in_bytes),
                       Result("lambda warm", impl, n, in_bytes),
                       Result("lambda init", impl, n, in_bytes)) for impl in plans}
        for i in range(args.repeat):
            for impl in plans:
                cold, hot, init = rows[impl]
                res = invoke_plan(plans[impl], args.data)
                cold.add(res[0]["ms"] / 1000, 0, 0, 0)
                for r in res[1:]:
                    hot.add(r["ms"] / 1000, 0, 0, 0)
                # One process serves them all: only the first result has an init phase.
                if res[0]["initMs"] is None or any(r["initMs"] is not None for r in res[1:]):
                    raise RuntimeError("%s: expected one init, in the first invocation: %s" % (
                        impl, [r["initMs"] for r in res]))
                init.add(res[0]["initMs"] / 1000, 0, 0, 0)
        for impl, (cold, hot, init) in rows.items():
            log("  lambda %8d entries  %s cold %.4f s, warm %.4f s, init %.4f s" % (
                n, impl, cold.seconds, hot.seconds, init.seconds))
            results += [cold, hot, init]
    finally:
        server.stop()
        shutil.rmtree(s3dir, ignore_errors=True)


def fmt_table(results):
    by = {(r.case, r.impl, r.entries): r for r in results}
    rows = ["| case | implementation | entries | input MB | output MB | seconds | MB/s (input) "
            "| peak RSS MiB | ratio |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        ratio = ""
        if r.impl.startswith("C"):
            parts = []
            before = by.get((r.case, "C before", r.entries))
            if r.impl == "C" and before:
                parts.append("%.2f× the earlier package" % (r.seconds / before.seconds))
            ref = by.get((r.case, "Python", r.entries))
            if ref:
                parts.append("%.1f× faster than Python" % (ref.seconds / r.seconds))
            for name in ("copy floor", "transfer floor", "multipart floor", "emulator floor"):
                fl = by.get((r.case, name, r.entries))
                if fl:
                    parts.append("%.2f× the %s" % (r.seconds / fl.seconds, fl.impl))
            if ref and r.rss:
                parts.append("%.0f× less memory" % (ref.rss / r.rss))
            ratio = ", ".join(parts)
        rows.append("| %s | %s | %d | %.1f | %s | %.*f | %.0f | %s | %s |" % (
            r.case, r.impl, r.entries, r.in_bytes / 1e6,
            "%.1f" % (r.out_bytes / 1e6) if r.out_bytes else "-",
            4 if r.case.startswith("lambda") else 3, r.seconds,
            r.in_bytes / 1e6 / r.seconds, "%.1f" % (r.rss / 1024) if r.rss else "-", ratio))
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--copyfloor", required=True)
    ap.add_argument("--multipartfloor", required=True, help="bench/multipartfloor (--s3)")
    ap.add_argument("--measure", required=True, help="the bench/measure tool")
    ap.add_argument("--data", required=True, help="scratch directory for generated data")
    ap.add_argument("--out", required=True, help="where results.tsv, table.md, the plot go")
    ap.add_argument("--python", default=sys.executable, help="interpreter for the reference")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--big-gib", type=float, default=0)
    ap.add_argument("--s3", action="store_true")
    ap.add_argument("--s3-sizes", default="100000")
    ap.add_argument("--package", help="function.zip: measure Lambda cold and warm starts")
    ap.add_argument("--lambda-floor", help="bench/lambda_floor: the emulator's own floor")
    ap.add_argument("--before-package", help="an earlier function.zip, measured alongside")
    ap.add_argument("--no-verify", dest="verify", action="store_false")
    ap.add_argument("--keep-data", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.data, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    global MEASURE, MEASURE_DIR
    MEASURE, MEASURE_DIR = os.path.abspath(args.measure), args.data
    results = []
    try:
        for n in [int(x) for x in args.sizes.split(",") if x]:
            dir_case(args, n, results)
        if args.big_gib:
            big_case(args, results)
        if args.s3:
            for n in [int(x) for x in args.s3_sizes.split(",") if x]:
                s3_case(args, n, results)
        if args.package:
            lambda_case(args, results)
    finally:
        if not args.keep_data:
            shutil.rmtree(args.data, ignore_errors=True)
    with open(os.path.join(args.out, "results.tsv"), "w") as f:
        f.write("case\timpl\tentries\tin_bytes\tout_bytes\tseconds\tpeak_rss_kib\tuser\tsys\n")
        for r in results:
            f.write("%s\t%s\t%d\t%d\t%d\t%.4f\t%d\t%.3f\t%.3f\n" % (
                r.case, r.impl.replace(" ", "_"), r.entries, r.in_bytes, r.out_bytes, r.seconds,
                r.rss, statistics.median(r.user), statistics.median(r.sys)))
    table = fmt_table(results)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(table + "\n")
    print(table)
    # One gnuplot data block per series, named by its first line ("# dir C").
    with open(os.path.join(args.out, "plot.dat"), "w") as f:
        series = {}
        for r in results:
            series.setdefault("%s %s" % (r.case, r.impl), []).append(r)
        for name, rows in series.items():
            f.write("# %s\n" % name)
            for r in sorted(rows, key=lambda r: r.entries):
                f.write("%d %.6f %.3f\n" % (r.entries, r.seconds, r.rss / 1024))
            f.write("\n\n")
    # The plot is of the directory store against the number of entries.
    if not any(r.case == "dir" for r in results):
        log("plot: skipped (no directory-store case in this run)")
    elif shutil.which("gnuplot"):
        subprocess.run(["gnuplot", "-e", "data='%s'; out='%s'" % (
            os.path.join(args.out, "plot.dat"), os.path.join(args.out, "benchmarks.svg")),
                        os.path.join(HERE, "plot.gp")], check=True)
        log("plot: %s" % os.path.join(args.out, "benchmarks.svg"))


if __name__ == "__main__":
    main()
