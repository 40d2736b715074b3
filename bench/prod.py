#!/usr/bin/env python3
"""bench/prod.py: the step and the Python reference as Lambda runs them (`make bench-prod`).

Production differs from `make bench` (bench/bench.py, whose helpers this reuses) in three ways,
and each is modelled here:
  - CPU follows memory: Lambda gives a function memory/1769 of one vCPU. Each run's process goes
    into a cgroup with that CPU quota (cpu.cfs_quota_us or cpu.max) and with the memory size as
    its memory limit (memory.limit_in_bytes or memory.max): above it the kernel kills it, as
    Lambda does.
  - S3 is far away: the bench's S3 is bench/s3front.js over TLS, which holds each response's
    first byte --delay-ms after the request, and paces each connection (--conn-mbps) and all of
    them together (--agg-mbps, the execution environment's network), each way.
  - Cold processes: the command line starts afresh for every run (a cold start's process); the
    Lambda cases run the package under the Runtime API emulator (tests/lambda/invoke.js) with
    the same cgroup, cold (first invocation of a new process) and warm (the ones after).

For each S3 delay, export size and memory size it runs, interleaved within each repetition:
  - C: the lean static program (the package's), --endpoint-url the front;
  - Python: the reference (bench/reference.py, boto3), capped at --timeout seconds;
  - request floor: bench/requestfloor (the lean static libcurl, the same TLS): the step's
    requests in the same order with no signing or parsing, in the same cgroup;
and computes the network floor from the front's parameters (see network_floor).

Reports wall time, billed duration (ms, rounded up), peak RSS or the kill, GB-s and dollars per
invocation (duration charge at --price-x86 / --price-arm per GB-s), writes OUT/prod.tsv,
OUT/prod.md and OUT/prod.svg (duration and cost against memory size: the power-tuning curve).
"""
import argparse
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import zipfile

import bench
from bench import BUCKET, generate, log, make_pki, settle

MIB = 1 << 20
VCPU_MB = 1769  # Lambda: one full vCPU at 1,769 MB
QUICK_MEMORY = "128,256,512,1024,1769,3008"
# Trust-store settings of the bench's own environment, which must not reach the functions: each
# gets the throwaway CA the front's certificate is signed by, in the form it reads.
IMPLS = ("C", "request floor", "Python")
TRUST_VARS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "AWS_CA_BUNDLE", "CURL_CA_BUNDLE",
              "REQUESTS_CA_BUNDLE")


class Cgroups:
    """One cgroup per memory size, with Lambda's CPU share and memory limit; v2 or v1."""

    def __init__(self, root="/sys/fs/cgroup"):
        self.v2 = os.path.exists(os.path.join(root, "cgroup.controllers"))
        self.root = root
        self.made = []
        if self.v2:
            with open(os.path.join(root, "cgroup.controllers")) as f:
                have = f.read().split()
            if "cpu" not in have or "memory" not in have:
                raise OSError("cgroup v2 without the cpu and memory controllers")
            with open(os.path.join(root, "cgroup.subtree_control"), "w") as f:
                f.write("+cpu +memory")
        elif not (os.path.isdir(os.path.join(root, "cpu")) and
                  os.path.isdir(os.path.join(root, "memory"))):
            raise OSError("no cgroup v2 with cpu and memory, nor v1 cpu and memory hierarchies")

    def dirs(self, mb):
        name = "bcr-bench-%d" % mb
        if self.v2:
            return [os.path.join(self.root, name)]
        return [os.path.join(self.root, "cpu", name), os.path.join(self.root, "memory", name)]

    def make(self, mb):
        """Creates (or resets) the cgroup for a memory size; raises OSError if it cannot."""
        quota = max(1000, round(100000 * mb / VCPU_MB))
        for d in self.dirs(mb):
            os.makedirs(d, exist_ok=True)
            if d not in self.made:
                self.made.append(d)
        if self.v2:
            d = self.dirs(mb)[0]
            write(d, "cpu.max", "%d 100000" % quota)
            write(d, "memory.max", str(mb * MIB))
            write(d, "memory.swap.max", "0", optional=True)
        else:
            cpu, mem = self.dirs(mb)
            write(cpu, "cpu.cfs_period_us", "100000")
            write(cpu, "cpu.cfs_quota_us", str(quota))
            write(mem, "memory.limit_in_bytes", str(mb * MIB))
            write(mem, "memory.memsw.limit_in_bytes", str(mb * MIB), optional=True)

    def procs(self, mb):
        return [os.path.join(d, "cgroup.procs") for d in self.dirs(mb)]

    def ooms(self, mb):
        """How many processes the memory limit has killed so far."""
        d = self.dirs(mb)[-1]
        path = os.path.join(d, "memory.events" if self.v2 else "memory.oom_control")
        with open(path) as f:
            for line in f:
                k, v = line.split()
                if k == "oom_kill":
                    return int(v)
        return 0

    def pids(self, mb):
        out = set()
        for p in self.procs(mb):
            with open(p) as f:
                out.update(int(x) for x in f.read().split())
        return out

    def kill_all(self, mb):
        """Ends what is left in the cgroup (processes this bench started in it)."""
        for _ in range(50):
            pids = self.pids(mb)
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)

    def remove(self):
        for d in reversed(self.made):
            try:
                os.rmdir(d)
            except OSError:
                pass


def write(d, name, value, optional=False):
    try:
        with open(os.path.join(d, name), "w") as f:
            f.write(value)
    except OSError:
        if not optional:
            raise


class Front:
    """bench/s3front.js over HTTPS, serving the generated exports under `root`."""

    def __init__(self, root, pki, delay_ms, conn_mbps, agg_mbps):
        self.p = subprocess.Popen(["node", os.path.join(bench.HERE, "s3front.js"), "--root", root,
                                   "--tls-cert", pki["cert"], "--tls-key", pki["key"],
                                   "--delay-ms", str(delay_ms), "--conn-mbps", str(conn_mbps),
                                   "--agg-mbps", str(agg_mbps)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("s3front did not start")
        self.url = "https://127.0.0.1:%d" % json.loads(line)["port"]
        self.curl = ["curl", "-sfS", "--cacert", pki["ca"]]

    def size(self, key):
        head = subprocess.run(self.curl + ["-I", "%s/%s/%s" % (self.url, BUCKET, key)],
                              check=True, capture_output=True, text=True).stdout
        return int([l.split(":")[1] for l in head.splitlines()
                    if l.lower().startswith("content-length")][0])

    def delete(self, key):
        subprocess.run(self.curl + ["-X", "DELETE", "-o", "/dev/null",
                                    "%s/%s/%s" % (self.url, BUCKET, key)], check=True)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=30)


class Row(bench.Result):
    """One (delay, export, memory size, implementation): its runs, and how they ended."""

    def __init__(self, case, impl, entries, files, mb, delay):
        super().__init__(case, impl, entries, 0)
        self.files, self.mb, self.delay = files, mb, delay
        self.fate = None  # None: completed; "killed (OOM)", "timeout (N s)", "failed"

    def billed_ms(self):
        return math.ceil(self.seconds * 1000) if self.times else None

    def gb_s(self):
        return self.mb / 1024 * self.billed_ms() / 1000 if self.times else None


def run_in(cg, mb, argv, env, stdin_path=None, timeout=None):
    """Runs argv (under bench/measure) inside the memory size's cgroup. Returns
    (fate, seconds, rss KiB, user, sys, stdout); fate None when it exited 0."""
    report = os.path.join(bench.MEASURE_DIR, "measure.report")
    procs = cg.procs(mb)

    def join():
        for p in procs:
            with open(p, "w") as f:
                f.write(str(os.getpid()))

    ooms = cg.ooms(mb)
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    full_env = {k: v for k, v in os.environ.items() if k not in TRUST_VARS}
    full_env.update(env)
    try:
        p = subprocess.run([bench.MEASURE, report] + argv, stdin=stdin, capture_output=True,
                           env=full_env, preexec_fn=join, timeout=timeout)
    except subprocess.TimeoutExpired:
        cg.kill_all(mb)
        return "timeout (%d s)" % timeout, None, 0, 0, 0, ""
    finally:
        if stdin_path:
            stdin.close()
    with open(report) as f:
        seconds, rss, user, sys_ = f.read().split()
    os.unlink(report)
    if cg.ooms(mb) > ooms:
        return "killed (OOM)", float(seconds), int(rss), float(user), float(sys_), ""
    if p.returncode != 0:
        log("    failed (%d): %s" % (p.returncode, p.stderr.decode(errors="replace")[-600:]))
        return "failed (%d)" % p.returncode, None, 0, 0, 0, ""
    return None, float(seconds), int(rss), float(user), float(sys_), p.stdout.decode()


def network_floor(delay_ms, agg_mbps, in_bytes, multipart):
    """The least time the network allows: the chain of first bytes nothing can overlap (the
    manifest; the first result file, whose key is in the manifest; the upload's last response,
    and CompleteMultipartUpload's after it for a multipart upload), plus every input byte at
    the aggregate rate (the upload overlaps the reading but for its last part, whose time is
    left out: a lower bound)."""
    chain = 2 + (2 if multipart else 1)
    return chain * delay_ms / 1000 + in_bytes / (agg_mbps * 1e6)


def export_keys(store, event):
    with open(event) as f:
        mkey = json.load(f)["results"]["ResultWriterDetails"]["Key"]
    return [mkey] + [os.path.relpath(p, os.path.join(store, BUCKET))
                     for p in bench.inputs_of(store, event)]


def cli_cases(args, cg, pki, delay, exports, results, with_ref=True):
    """The command line, the reference and the request floor, fresh processes, per memory
    size; repetitions interleave the memory sizes and the implementations."""
    root = os.path.join(args.data, "front")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, BUCKET))
    front = Front(root, pki, delay, args.conn_mbps, args.agg_mbps)
    c_env = dict(bench.S3_ENV, SSL_CERT_DIR=pki["dir"])
    py_env = dict(bench.S3_ENV, AWS_CA_BUNDLE=pki["bundle"])
    try:
        for n, files in exports:
            store, event, inputs = generate(args.data, n, files)
            # The front serves the export under its root (exports of the same seed share their
            # keys, so one export at a time).
            src = os.path.join(store, BUCKET)
            shutil.rmtree(os.path.join(root, BUCKET), ignore_errors=True)
            for dirpath, _, names in os.walk(src):
                for name in names:
                    dst = os.path.join(root, BUCKET, os.path.relpath(os.path.join(dirpath, name),
                                                                     src))
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    os.link(os.path.join(dirpath, name), dst)
            keys = export_keys(store, event)
            in_bytes = sum(os.path.getsize(os.path.join(src, k)) for k in keys)
            case = "cli %d ms" % delay
            # The quick run leaves the reference out of the many-file export: it holds the
            # same bytes as the one-file export, and meets the same fate.
            ref_here = with_ref and args.ref_repeat > 0 and (args.full or files == 1)
            rows = {}
            for mb in args.memory:
                for impl in IMPLS + (("C before",) if args.before_bin else ()):
                    r = rows[mb, impl] = Row(case, impl, n, files, mb, delay)
                    r.in_bytes = in_bytes
            out_bytes = None
            ref_cap = args.ref_timeout
            for rep in range(args.repeat):
                for mb in args.memory:
                    row = rows[mb, "C"]
                    settle()
                    fate, s, rss, u, sy, out = run_in(cg, mb, [args.bin, "--endpoint-url",
                                                               front.url, event], c_env,
                                                      timeout=args.timeout)
                    if fate:
                        row.fate = fate
                    else:
                        row.add(s, rss, u, sy)
                        key = json.loads(out)["key"]
                        if out_bytes is None:
                            out_bytes = front.size(key)
                        front.delete(key)
                    row.out_bytes = out_bytes or 0
                    if out_bytes is None:
                        raise RuntimeError("the program failed at %d MB: %s" % (mb, fate))
                    if args.before_bin:
                        before = rows[mb, "C before"]
                        settle()
                        fate, s, rss, u, sy, out = run_in(cg, mb, [args.before_bin,
                                                                   "--endpoint-url", front.url,
                                                                   event], c_env,
                                                          timeout=args.timeout)
                        if fate:
                            before.fate = fate
                        else:
                            before.add(s, rss, u, sy)
                            front.delete(json.loads(out)["key"])
                        before.out_bytes = out_bytes
                    floor = rows[mb, "request floor"]
                    settle()
                    fate, s, rss, u, sy, _ = run_in(
                        cg, mb, [args.requestfloor, front.url, BUCKET, "floor/results.json",
                                 str(out_bytes), str(8 * MIB), str(in_bytes)] + keys, c_env,
                        timeout=args.timeout)
                    if fate:
                        floor.fate = fate
                    else:
                        floor.add(s, rss, u, sy)
                        front.delete("floor/results.json")
                    floor.out_bytes = out_bytes
                    ref = rows[mb, "Python"]
                    if ref_here and rep < args.ref_repeat and not ref.fate:
                        settle()
                        fate, s, rss, u, sy, out = run_in(
                            cg, mb, [args.python, os.path.join(bench.HERE, "reference.py"),
                                     "--endpoint", front.url], py_env, stdin_path=event,
                            timeout=ref_cap)
                        if fate:
                            ref.fate = fate
                            ref.rss = max(ref.rss, rss)
                        else:
                            ref.add(s, rss, u, sy)
                            front.delete(json.loads(out)["key"])
                        ref.out_bytes = out_bytes
                    log("  %s %7d entries %d file(s) %5d MB: C %s, floor %s, Python %s" % (
                        case, n, files, mb, show(row), show(floor), show(ref)))
            for mb in args.memory:
                for impl in IMPLS + (("C before",) if args.before_bin else ()):
                    if impl != "Python" or ref_here:
                        results.append(rows[mb, impl])
                net = Row(case, "network floor", n, files, mb, delay)
                net.in_bytes, net.out_bytes = in_bytes, out_bytes
                net.times = [network_floor(delay, args.agg_mbps, in_bytes, out_bytes > 8 * MIB)]
                results.append(net)
    finally:
        front.stop()
        shutil.rmtree(root, ignore_errors=True)


def show(row):
    if row.fate and not row.times:
        return row.fate
    return "%.3f s" % row.seconds if row.times else "-"


def lambda_cases(args, cg, pki, delay, n, results):
    """The package, the request floor as a Lambda function, and the reference handler under
    the emulator, in the memory size's cgroup: first invocation (cold) and the warm ones."""
    root = os.path.join(args.data, "front-lambda")
    shutil.rmtree(root, ignore_errors=True)
    store, event, inputs = generate(args.data, n, 1)
    shutil.copytree(os.path.join(store, BUCKET), os.path.join(root, BUCKET), copy_function=os.link)
    keys = export_keys(store, event)
    in_bytes = sum(os.path.getsize(os.path.join(store, BUCKET, k)) for k in keys)
    with open(event) as f:
        payload = f.read()
    pkg = os.path.abspath(os.path.join(args.data, "package"))
    with zipfile.ZipFile(args.package) as z:
        z.extractall(pkg)
    os.chmod(os.path.join(pkg, "bootstrap"), 0o755)
    front = Front(root, pki, delay, args.conn_mbps, args.agg_mbps)
    try:
        out_bytes = None
        for rep in range(args.lambda_repeat):
            for mb in args.lambda_memory:
                # The bootstrap joins the cgroup, then execs the function: the whole process
                # runs with the memory size's CPU share and memory limit.
                join = " && ".join("echo $$ > %s" % p for p in cg.procs(mb)) + ' && exec "$@"'
                common = {"name": "backend-checks-results", "region": "eu-west-2",
                          "accessKeyId": "S3RVER", "secretAccessKey": "S3RVER", "timeout": 300,
                          "memory": mb, "env": {},
                          "invocations": [{"payload": payload}] * (1 + args.warm)}
                plans = {
                    "C": dict(common, code={"command": ["/bin/sh", "-c", join, "sh",
                                                        os.path.join(pkg, "bootstrap")],
                                            "unset": list(TRUST_VARS),
                                            "set": {"AWS_ENDPOINT_URL_S3": front.url,
                                                    "SSL_CERT_DIR": pki["dir"],
                                                    "AWS_LAMBDA_LOG_LEVEL": "WARN"}}),
                    "Python": dict(common, code={"command": ["/bin/sh", "-c", join, "sh",
                                                             args.python,
                                                             os.path.join(bench.HERE,
                                                                          "lambda_ref.py")],
                                                 "unset": list(TRUST_VARS),
                                                 "set": {"BENCH_S3_ENDPOINT": front.url,
                                                         "AWS_CA_BUNDLE": pki["bundle"]}}),
                }
                for impl in ("C", "request floor", "Python"):
                    if impl == "request floor":
                        if out_bytes is None:
                            continue
                        plans[impl] = dict(common, code={
                            "command": ["/bin/sh", "-c", join, "sh", args.requestfloor, front.url,
                                        BUCKET, "floor/results.json", str(out_bytes),
                                        str(8 * MIB), str(in_bytes)] + keys,
                            "unset": list(TRUST_VARS), "set": {"SSL_CERT_DIR": pki["dir"]}})
                    rows = results_for(results, n, mb, delay, impl)
                    if rows[0].fate:
                        continue
                    cg.kill_all(mb)
                    ooms = cg.ooms(mb)
                    try:
                        res = bench.invoke_plan(plans[impl], args.data)
                    except RuntimeError as e:
                        rows[0].fate = "killed (OOM)" if cg.ooms(mb) > ooms else "failed"
                        log("    lambda %s %d MB: %s" % (impl, mb, str(e)[:300]))
                        continue
                    rows[0].add(res[0]["ms"] / 1000, 0, 0, 0)
                    for r in res[1:]:
                        rows[1].add(r["ms"] / 1000, 0, 0, 0)
                    rows[2].add((res[0]["initMs"] or 0) / 1000, 0, 0, 0)
                    if impl == "C" and out_bytes is None:
                        out_bytes = front.size(json.loads(res[0]["payload"])["key"])
                    log("  lambda %d ms %d entries %5d MB %s: cold %.3f s, warm %.3f s" % (
                        delay, n, mb, impl, rows[0].seconds, rows[1].seconds))
    finally:
        front.stop()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(pkg, ignore_errors=True)


def results_for(results, n, mb, delay, impl):
    """The (cold, warm, init) rows of a Lambda case, made on first use."""
    found = [r for r in results if r.case.startswith("lambda") and r.entries == n and
             r.mb == mb and r.delay == delay and r.impl == impl]
    if found:
        return found
    rows = [Row("lambda %s %d ms" % (kind, delay), impl, n, 1, mb, delay)
            for kind in ("cold", "warm", "init")]
    results.extend(rows)
    return rows


def money(gb_s, price):
    return gb_s * price


def fmt(args, results):
    """The table (Markdown): per case and memory size, each implementation's row."""
    lines = ["| case | entries | files | MB | implementation | seconds | billed ms | peak RSS "
             "MiB | GB-s | $ x86_64 | $ arm64 | user+sys s | vs floor |",
             "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    by = {(r.case, r.entries, r.files, r.mb, r.impl): r for r in results}
    for r in results:
        if not r.times:
            lines.append("| %s | %d | %d | %d | %s | %s | | %s | | | | | |" % (
                r.case, r.entries, r.files, r.mb, r.impl, r.fate or "-",
                "%.0f" % (r.rss / 1024) if r.rss else ""))
            continue
        ratio = ""
        if r.impl.startswith("C"):
            parts = []
            before = by.get((r.case, r.entries, r.files, r.mb, "C before"))
            if r.impl == "C" and before and before.times:
                parts.append("%.2f× C before" % (r.seconds / before.seconds))
            for name in ("request floor", "network floor"):
                fl = by.get((r.case, r.entries, r.files, r.mb, name))
                if fl and fl.times:
                    parts.append("%.2f× the %s" % (r.seconds / fl.seconds, name))
            ratio = ", ".join(parts)
        # A first invocation's duration includes its init; the init row is a part of it.
        billed = r.impl in ("C", "C before", "Python") and not r.case.startswith("lambda init")
        lines.append("| %s | %d | %d | %d | %s | %.3f | %s | %s | %s | %s | %s | %s | %s |" % (
            r.case, r.entries, r.files, r.mb, r.impl, r.seconds,
            r.billed_ms() if billed else "",
            "%.1f" % (r.rss / 1024) if r.rss else "",
            "%.4f" % r.gb_s() if billed else "",
            "%.8f" % money(r.gb_s(), args.price_x86) if billed else "",
            "%.8f" % money(r.gb_s(), args.price_arm) if billed else "",
            "%.3f" % (statistics.median(r.user) + statistics.median(r.sys)) if r.user else "",
            (r.fate + "; " if r.fate else "") + ratio))
    return "\n".join(lines)


def recommend(args, results):
    """The memory size at which the program costs least per invocation (10,000 entries at the
    first delay), and the smallest within 10% of the fastest: both, for the docs."""
    out = []
    for n in sorted({r.entries for r in results if r.case.startswith("cli")}):
        case = "cli %d ms" % args.delays[0]
        rows = [r for r in results if r.case == case and r.entries == n and r.files == 1 and
                r.impl == "C" and r.times]
        if not rows:
            continue
        cheapest = min(rows, key=lambda r: r.gb_s())
        fastest = min(rows, key=lambda r: r.seconds)
        near = min((r for r in rows if r.seconds <= fastest.seconds * 1.1), key=lambda r: r.mb)
        ref = [r for r in results if r.case == case and r.entries == n and r.files == 1 and
               r.impl == "Python" and r.mb == 1024]
        line = ("%d entries, %d ms: cheapest %d MB (%.3f s, %.4f GB-s, $%.8f x86_64); fastest "
                "%d MB (%.3f s); smallest within 10%% of the fastest %d MB (%.3f s)" % (
                    n, args.delays[0], cheapest.mb, cheapest.seconds, cheapest.gb_s(),
                    money(cheapest.gb_s(), args.price_x86), fastest.mb, fastest.seconds, near.mb,
                    near.seconds))
        if ref and ref[0].times:
            line += "; the reference at 1024 MB costs %.1f× the cheapest" % (
                ref[0].gb_s() / cheapest.gb_s())
        elif ref:
            line += "; the reference at 1024 MB: %s" % ref[0].fate
        out.append(line)
    return out


def plot(args, results):
    """OUT/prod.svg: duration and cost per invocation against memory size, both
    implementations (the command line's runs at the first delay, single-file exports)."""
    dat = os.path.join(args.out, "prod.dat")
    case = "cli %d ms" % args.delays[0]
    names = []
    with open(dat, "w") as f:
        for n in sorted({r.entries for r in results if r.case == case}):
            for impl in ("C", "Python", "request floor"):
                rows = sorted((r for r in results if r.case == case and r.entries == n and
                               r.files == 1 and r.impl == impl and r.times), key=lambda r: r.mb)
                if not rows:
                    continue
                name = "%s %d" % (impl, n)
                names.append(name)
                f.write("# %s\n" % name)
                for r in rows:
                    f.write("%d %.6f %.10f\n" % (r.mb, r.seconds,
                                                 money(r.gb_s(), args.price_x86)))
                f.write("\n\n")
    if not shutil.which("gnuplot") or not names:
        log("plot: skipped")
        return
    series = ",".join(names)
    subprocess.run(["gnuplot", "-e", "data='%s'; out='%s'; series='%s'; delay='%d'" % (
        dat, os.path.join(args.out, "prod.svg"), series, args.delays[0]),
                    os.path.join(bench.HERE, "prod.gp")], check=True)
    log("plot: %s" % os.path.join(args.out, "prod.svg"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="the program (the lean static build)")
    ap.add_argument("--requestfloor", required=True, help="bench/requestfloor")
    ap.add_argument("--measure", required=True, help="bench/measure")
    ap.add_argument("--package", help="function.zip: the Lambda cases (cold and warm)")
    ap.add_argument("--before-bin", help="an earlier build of the program, run beside it "
                                         "(\"C before\") in the command-line cases")
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--python", default=sys.executable, help="interpreter for the reference")
    ap.add_argument("--full", action="store_true",
                    help="every case: every export at every delay, the reference in every "
                         "case, 3 repetitions of everything (the reference's capped at 300 s), "
                         "the Lambda cases at every memory size")
    ap.add_argument("--memory", help="memory sizes, MB (default %s)" % QUICK_MEMORY)
    ap.add_argument("--delays", help="first-byte delays, ms (default 20,100)")
    ap.add_argument("--sizes", help="exports: N or N:FILES, comma-separated")
    ap.add_argument("--conn-mbps", type=float, default=90)
    ap.add_argument("--agg-mbps", type=float, default=75)
    ap.add_argument("--repeat", type=int, help="repetitions of C and the floor (default 3)")
    ap.add_argument("--ref-repeat", type=int, help="repetitions of the reference (0: none)")
    ap.add_argument("--timeout", type=float, default=120, help="cap on one run of C/floor, s")
    ap.add_argument("--ref-timeout", type=float, help="cap on one run of the reference, s")
    ap.add_argument("--lambda-memory", help="memory sizes of the Lambda cases")
    ap.add_argument("--lambda-entries", type=int, default=10000)
    ap.add_argument("--lambda-repeat", type=int)
    ap.add_argument("--warm", type=int, default=2, help="warm invocations after each cold one")
    ap.add_argument("--price-x86", type=float, default=0.0000166667,
                    help="$ per GB-s, x86_64 (Lambda's first tier)")
    ap.add_argument("--price-arm", type=float, default=0.0000133334,
                    help="$ per GB-s, arm64 (Lambda's first tier)")
    ap.add_argument("--keep-data", action="store_true")
    args = ap.parse_args()
    full = args.full
    given_memory = bool(args.memory)
    args.memory = [int(x) for x in (args.memory or QUICK_MEMORY).split(",")]
    args.delays = [int(x) for x in (args.delays or "20,100").split(",")]
    sizes = args.sizes or "1000,10000,100000,100000:8"
    exports = [(int(s.split(":")[0]), int(s.split(":")[1]) if ":" in s else 1)
               for s in sizes.split(",") if s]
    args.repeat = args.repeat or (3 if full else 2)
    if args.ref_repeat is None:
        args.ref_repeat = 3 if full else 1
    args.ref_timeout = args.ref_timeout or (300 if full else 45)
    if args.lambda_memory is None:
        args.lambda_memory = QUICK_MEMORY if full else "1024"
    args.lambda_memory = [int(x) for x in args.lambda_memory.split(",") if x]
    args.lambda_repeat = args.lambda_repeat or (5 if full else 3)
    os.makedirs(args.data, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    bench.MEASURE, bench.MEASURE_DIR = os.path.abspath(args.measure), args.data
    if os.geteuid() != 0:
        log("bench-prod: skipped: it must run as root, to make cgroups for the CPU share and "
            "the memory limit")
        return
    try:
        cg = Cgroups()
        for mb in set(args.memory + args.lambda_memory):
            cg.make(mb)
    except OSError as e:
        log("bench-prod: skipped: cannot set up cgroups under /sys/fs/cgroup (%s)" % e)
        return
    log("bench-prod: cgroup %s; memory sizes %s MB; delays %s ms; %g MB/s a connection, %g "
        "MB/s in all" % ("v2" if cg.v2 else "v1", args.memory, args.delays, args.conn_mbps,
                         args.agg_mbps))
    shutil.rmtree(os.path.join(args.data, "pki"), ignore_errors=True)
    pki = make_pki(args.data)
    results = []
    try:
        for i, delay in enumerate(args.delays):
            # The quick run: every export and memory size at the first delay; at the others
            # the one-file exports of 10,000 entries and more, at three memory sizes, without
            # the reference (whose fate the first delay shows).
            later = not full and i > 0
            ex = [e for e in exports if e[0] >= 10000 and e[1] == 1] if later else exports
            memory = args.memory
            if later and not given_memory:
                args.memory = [mb for mb in args.memory if mb in (256, 1024, 3008)]
            try:
                cli_cases(args, cg, pki, delay, ex, results, with_ref=not later)
            finally:
                args.memory = memory
        if args.package and args.lambda_memory:
            lambda_cases(args, cg, pki, args.delays[0], args.lambda_entries, results)
    finally:
        cg.remove()
        if not args.keep_data:
            shutil.rmtree(args.data, ignore_errors=True)
    with open(os.path.join(args.out, "prod.tsv"), "w") as f:
        f.write("case\timpl\tentries\tfiles\tmemory_mb\tdelay_ms\tseconds\tfate\tpeak_rss_kib"
                "\tuser\tsys\tin_bytes\tout_bytes\truns\n")
        for r in results:
            f.write("%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%d\t%s\t%s\t%d\t%d\t%d\n" % (
                r.case, r.impl.replace(" ", "_"), r.entries, r.files, r.mb, r.delay,
                "%.4f" % r.seconds if r.times else "", r.fate or "", r.rss,
                "%.3f" % statistics.median(r.user) if r.user else "",
                "%.3f" % statistics.median(r.sys) if r.sys else "", r.in_bytes,
                r.out_bytes or 0, len(r.times)))
    table = fmt(args, results)
    rec = recommend(args, results)
    with open(os.path.join(args.out, "prod.md"), "w") as f:
        f.write(table + "\n\n" + "\n".join("- " + x for x in rec) + "\n")
    print(table)
    for x in rec:
        print(x)
    plot(args, results)


if __name__ == "__main__":
    main()
