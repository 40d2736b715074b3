#!/usr/bin/env python3
"""Is a library inside a built package out of date? What `make check-deps` runs.

  scripts/check-deps.py SBOM...          (make check-deps: build/function*.cdx.json)

A statically linked program keeps the library versions it was built with
until it is rebuilt: a Debian security update of OpenSSL, curl, c-ares
or glibc reaches the Lambda function only through a new package.
For every library an SBOM (scripts/sbom.py) records, this compares the Debian
package whose file was linked (bcr:debian:package, at
bcr:debian:package-version) with the version Debian offers now, apt-cache
policy's Candidate (run `apt-get update` first). Exits 1, naming each package
and both versions, when Debian offers a newer one; 0 when none is newer.

The versions on offer are read from `apt-cache policy PACKAGE...`, or, when
BCR_APT_POLICY names a file, from that file (the same output, saved): so the
check can be run against a saved or made-up state of the archive.
A package of another architecture (libssl-dev:arm64) that apt does not know
(dpkg lacks that architecture) is looked up by its name alone: Debian builds
every architecture of a package from the same source version.
"""
import json
import os
import re
import subprocess
import sys


def records(paths):
    """{(package, recorded version): (component, sbom)} from the SBOMs."""
    out = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            bom = json.load(f)
        for c in bom.get("components", []):
            props = {p["name"]: p["value"] for p in c.get("properties", [])}
            pkg = props.get("bcr:debian:package")
            if c.get("scope") == "excluded" or not pkg:
                continue
            out.setdefault((pkg, props["bcr:debian:package-version"]), (c["name"], path))
    return out


def policy_text(packages):
    path = os.environ.get("BCR_APT_POLICY")
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read()
    r = subprocess.run(["apt-cache", "policy", *packages], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"check-deps: apt-cache policy failed: {r.stderr.strip()}")
    return r.stdout


def candidates(text):
    """{package: Candidate} from apt-cache policy output."""
    out, current = {}, None
    for line in text.splitlines():
        m = re.match(r"^(\S+):$", line)
        if m:
            current = m.group(1)
            continue
        m = re.match(r"^\s+Candidate:\s+(\S+)", line)
        if m and current:
            out[current] = m.group(1)
    return out


def newer(a, b):
    return subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0


def main(paths):
    if not paths:
        sys.exit("check-deps: no SBOM to check (make package writes build/function.cdx.json)")
    recs = records(paths)
    if not recs:
        sys.exit("check-deps: the SBOMs record no Debian package")
    names = sorted({p for p, _ in recs} | {p.split(":", 1)[0] for p, _ in recs})
    offered = candidates(policy_text(names))
    stale = 0
    for (pkg, version), (component, sbom) in sorted(recs.items()):
        cand = offered.get(pkg) or offered.get(pkg.split(":", 1)[0])
        if not cand or cand == "(none)":
            print(f"check-deps: {component}: Debian offers no {pkg} now (apt-get update?); "
                  f"{sbom} has {version}", file=sys.stderr)
            stale += 1
        elif newer(cand, version):
            print(f"check-deps: {component}: Debian offers {pkg} {cand}, newer than the {version} "
                  f"built into {sbom}: rebuild the package and redeploy", file=sys.stderr)
            stale += 1
    if stale:
        sys.exit(1)
    print(f"check-deps: the {len({p for p, _ in recs})} Debian packages built into {', '.join(paths)} "
          "are the newest Debian offers")


if __name__ == "__main__":
    main(sys.argv[1:])
