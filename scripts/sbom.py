#!/usr/bin/env python3
"""What a statically linked program is made of: its SBOM and its ELF section.

  scripts/sbom.py --cc CC --arch ARCH --curl-stamp STAMP --sbom OUT.cdx.json --section OUT.json

A static program hides its libraries from scanners (Amazon Inspector, Trivy,
Grype, Snyk), so this writes down what went into it, as cargo-auditable does:

- OUT.cdx.json, a CycloneDX 1.5 SBOM: the program, then every library linked
  into it (scripts/static-libs, the lean libcurl, the C library, libgcc) as
  the Debian source package and version it was built from, named by a
  package URL (pkg:deb/debian/openssl@3.0.17-1~deb12u2?arch=arm64&distro=debian-12),
  with the binary package whose file was linked (property bcr:debian:package,
  bcr:debian:package-version: what `make check-deps` compares); then the npm
  packages of package-lock.json, scope "excluded": the test servers', never
  in the package.
- OUT.json, the same libraries, compact, for the program's .bcr_deps section.

Each library is found where the compiler finds it (CC -print-file-name) and
attributed to the Debian package that owns that file (dpkg -S), so the record
is of what was linked, not of what was meant to be. A package built for
cross-compiling (libgcc-12-dev-arm64-cross) names the source it was built
from in its Built-Using field, which is used instead.
Output is the same for the same inputs (SOURCE_DATE_EPOCH for the time, as
scripts/package.sh sets it).
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DISTRO = "debian-12"
CROSS_SOURCES = re.compile(r"^(cross-toolchain-base.*|gcc-\d+-cross.*)$")


def die(msg):
    sys.exit("sbom: " + msg)


def run(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def static_libs():
    """(component, dev package, [-l flags]) from scripts/static-libs."""
    rows = []
    with open(os.path.join(ROOT, "scripts", "static-libs"), encoding="utf-8") as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if fields:
                rows.append((fields[0], fields[1], fields[2:]))
    return rows


def deb_arch(arch):
    return {"x86_64": "amd64", "arm64": "arm64"}[arch]


def owner(path):
    """The installed binary package (NAME:ARCH, or NAME) that holds path."""
    norm = os.path.normpath(path)
    real = os.path.realpath(path)
    for p in dict.fromkeys([norm, real, re.sub(r"^/usr/", "/", real), "/usr" + real]):
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.splitlines()[0].split(": ", 1)[0]
    die(f"no Debian package holds {path}")


def package_info(pkg, source_hint):
    """Binary version, and the source package and version it was built from."""
    fields = run("dpkg-query", "-W", "-f=${Version}\\t${source:Package}\\t${source:Version}\\t"
                 "${Built-Using}", pkg).split("\t")
    version, source, source_version, built_using = (fields + [""] * 4)[:4]
    if CROSS_SOURCES.match(source):
        # "binutils (= 2.40-2), gcc-12 (= 12.2.0-14), glibc (= 2.36-8)"
        for name, ver in re.findall(r"([a-z0-9.+-]+) \(= ([^)]+)\)", built_using):
            if re.fullmatch(source_hint, name):
                return version, name, ver
        die(f"{pkg} was built by {source} from no source matching {source_hint}")
    return version, source, source_version


def library(cc, name, files, source_hint):
    """One component: the library files linked, their owning package."""
    paths = []
    for f in files:
        p = run(cc, f"-print-file-name={f}") if f != "libgcc.a" else run(cc, "-print-libgcc-file-name")
        if not os.path.isabs(p):
            die(f"{cc} cannot find {f}")
        paths.append(p)
    pkgs = {owner(p) for p in paths}
    if len(pkgs) != 1:
        die(f"{name}: its files come from several packages: {sorted(pkgs)}")
    pkg = pkgs.pop()
    version, source, source_version = package_info(pkg, source_hint)
    return {"name": name, "package": pkg, "package_version": version,
            "source": source, "source_version": source_version}


def upstream(version):
    """Debian's version without epoch, revision and repack suffix: 3.0.17."""
    v = version.split(":", 1)[-1].rsplit("-", 1)[0]
    return re.split(r"[+~]", v)[0]


def purl_deb(c, arch):
    return f"pkg:deb/debian/{c['source']}@{c['source_version']}?arch={arch}&distro={DISTRO}"


def npm_components(lock_path):
    with open(lock_path, encoding="utf-8") as f:
        lock = json.load(f)
    out = []
    for path, p in sorted(lock.get("packages", {}).items()):
        if not path:
            continue
        name = p.get("name") or path.rsplit("node_modules/", 1)[-1]
        ns, _, short = name.rpartition("/")
        purl = "pkg:npm/" + (ns.replace("@", "%40") + "/" if ns else "") + f"{short}@{p['version']}"
        c = {"type": "library", "bom-ref": purl, "name": short, "version": p["version"],
             "scope": "excluded", "purl": purl,
             "properties": [{"name": "bcr:role", "value": "test-server dependency, not in the package"}]}
        if ns:
            c["group"] = ns
        if p.get("license"):
            c["licenses"] = [{"expression": p["license"]}]
        if p.get("integrity", "").startswith("sha512-"):
            c["hashes"] = [{"alg": "SHA-512",
                            "content": base64.b64decode(p["integrity"][7:]).hex()}]
        if c["bom-ref"] not in {x["bom-ref"] for x in out}:
            out.append(c)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cc", required=True)
    ap.add_argument("--arch", required=True, choices=["x86_64", "arm64"])
    ap.add_argument("--curl-stamp", required=True)
    ap.add_argument("--sbom", required=True)
    ap.add_argument("--section", required=True)
    a = ap.parse_args()
    darch = deb_arch(a.arch)

    libs = [library(a.cc, name, [f"lib{f[2:]}.a" for f in flags], re.escape(name))
            for name, _, flags in static_libs()]
    # The lean libcurl: Debian's curl source at the version of the installed
    # libcurl4-openssl-dev (its headers), as scripts/build-curl.sh records.
    with open(a.curl_stamp, encoding="utf-8") as f:
        stamp = f.read().split()
    if len(stamp) < 2 or stamp[0] != "curl":
        die(f"{a.curl_stamp} is not a lean libcurl stamp")
    curl_dev = "libcurl4-openssl-dev"
    _, source, _ = package_info(curl_dev, "curl")
    libs.append({"name": "curl", "package": curl_dev, "package_version": stamp[1],
                 "source": source, "source_version": stamp[1], "built": "scripts/build-curl.sh"})
    glibc = library(a.cc, "glibc", ["libc.a"], "glibc")
    if glibc["package"].endswith("-cross"):
        # Built once per Debian release (glibc 2.36-8 in Debian 12): it never
        # gets the security updates libc6-dev does.
        die(f"the C library would be {glibc['package']}'s, glibc {glibc['source_version']}, "
            "which misses Debian's security updates: remove it (apt-get remove "
            f"{glibc['package']}) so that libc6-dev:{darch} is linked "
            "(scripts/install-cross-deps.sh installs it)")
    libs.append(glibc)
    libs.append(library(a.cc, "libgcc", ["libgcc.a"], r"gcc-\d+"))

    with open(os.path.join(ROOT, "src", "version.h"), encoding="utf-8") as f:
        version = re.search(r'#define BCR_VERSION "([^"]+)"', f.read()).group(1)

    section = {"format": "bcr-deps-1", "program": "backend-checks-results", "version": version,
               "arch": a.arch,
               "components": [{"name": c["name"], "version": c["source_version"],
                               "upstream": upstream(c["source_version"]),
                               "purl": purl_deb(c, darch)} for c in libs]}

    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or 315532800)
    program_ref = f"pkg:generic/backend-checks-results@{version}?arch={a.arch}"
    components = []
    for c in libs:
        props = [{"name": "bcr:linked", "value": "static"},
                 {"name": "bcr:debian:package", "value": c["package"]},
                 {"name": "bcr:debian:package-version", "value": c["package_version"]},
                 {"name": "bcr:upstream-version", "value": upstream(c["source_version"])}]
        if c.get("built"):
            props.append({"name": "bcr:built-by", "value": c["built"]})
        components.append({"type": "library", "bom-ref": purl_deb(c, darch), "name": c["name"],
                           "version": c["source_version"], "scope": "required",
                           "purl": purl_deb(c, darch), "properties": props})
    npm = npm_components(os.path.join(ROOT, "package-lock.json"))
    bom = {
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "metadata": {
            "timestamp": datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
            .strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "scripts/sbom.py"}]},
            "component": {"type": "application", "bom-ref": program_ref,
                          "name": "backend-checks-results", "version": version,
                          "purl": program_ref,
                          "description": "AWS Lambda function (bootstrap), statically linked, "
                                         f"for {a.arch}; Debian 12 libraries",
                          "properties": [{"name": "bcr:arch", "value": a.arch},
                                         {"name": "bcr:elf-section", "value": ".bcr_deps"}]},
        },
        "components": components + npm,
        "dependencies": [{"ref": program_ref, "dependsOn": [c["bom-ref"] for c in components]}],
    }
    text = json.dumps(bom, indent=2, sort_keys=False) + "\n"
    bom["serialNumber"] = "urn:uuid:" + str(uuid.UUID(hashlib.sha256(text.encode()).hexdigest()[:32], version=4))
    # serialNumber first, after the format fields, as the specification shows it.
    ordered = {k: bom[k] for k in ("bomFormat", "specVersion", "serialNumber", "version")}
    ordered.update({k: v for k, v in bom.items() if k not in ordered})
    with open(a.sbom, "w", encoding="utf-8") as f:
        json.dump(ordered, f, indent=2)
        f.write("\n")
    with open(a.section, "w", encoding="utf-8") as f:
        json.dump(section, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
