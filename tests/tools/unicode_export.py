#!/usr/bin/env python3
"""Reference for the ASCII rule of results.json, built on Python's json module.

  unicode_export.py generate ROOT BUCKET N   writes an export full of non-ASCII text
                                             under ROOT/BUCKET and prints the event
  unicode_export.py check ROOT BUCKET KEY    checks results.json at ROOT/BUCKET/KEY

The export has N entries over two result files (a JSON array and JSON Lines). Each
entry's Output holds 2-, 3- and 4-byte UTF-8 characters in keys and values, numbers
as Python writes them, and every few entries a lone surrogate. Outputs are written
by json.dumps, with ensure_ascii False (raw UTF-8) or True (\\u escapes), and each
result file with the other choice for the outer strings, as the two ways a Map's
children and Step Functions may write them.

check: results.json must be pure ASCII and byte-identical to what the function this
replaces wrote, json.dumps(value, ensure_ascii=True) of each Output (here with the
separators of a minified document), inside the fixed tail. Exit status 0 when it is,
1 with a message when not.
"""
import json
import os
import random
import sys

CONSIGNMENT = "6f1c7e4e-3a55-4c3f-9a43-0f1b4c2e5d77"
PREFIX = CONSIGNMENT + "/run/results.json/map"
TEXTS = ["Ünïcødé", "café ✓", "日本語のファイル", "emoji 😀 🎉", "𝄞 music", "Ω≈ç√",
         "mixed/ä/€/𐍈", "plain"]
LONE = ["\ud800", "\udfff", "a\udbffb"]


def output_value(r, i):
    v = {
        "fileId": "%08x-%d" % (r.getrandbits(32), i),
        "originalPath": "/".join(r.choice(TEXTS) for _ in range(3)),
        r.choice(TEXTS): r.choice(TEXTS),
        "fileSize": r.randrange(10 ** 12),
        "ratio": r.random(),
        "datetime": 1700000000000 + i,
        "nested": {"ключ": [r.choice(TEXTS), None, True, -0.5, 1e-7]},
    }
    if i % 7 == 3:
        v["lone"] = r.choice(LONE)
    return v


def generate(root, bucket, n):
    r = random.Random(11)
    os.makedirs(os.path.join(root, bucket, PREFIX), exist_ok=True)
    files, expected = [], []
    for k, jsonl in enumerate((False, True)):
        entries = []
        for i in range(k * n // 2, (k + 1) * n // 2):
            value = output_value(r, i)
            expected.append(value)
            # A raw lone surrogate has no UTF-8 form: those Outputs are escaped.
            raw = i % 2 == 0 and "lone" not in value
            entries.append({
                "Name": "exec-%d-%s" % (i, r.choice(TEXTS)),
                "Output": json.dumps(value, ensure_ascii=not raw, separators=(",", ":")),
                "OutputDetails": {"Included": True}, "Status": "SUCCEEDED"})
        key = "%s/SUCCEEDED_%d.json" % (PREFIX, k)
        outer_ascii = k == 1
        with open(os.path.join(root, bucket, key), "wb") as f:
            if jsonl:
                text = "".join(json.dumps(e, ensure_ascii=outer_ascii) + "\n" for e in entries)
            else:
                text = json.dumps(entries, ensure_ascii=outer_ascii, indent=1)
            f.write(text.encode("utf-8", "surrogatepass"))
        files.append({"Key": key})
    manifest = {"DestinationBucket": bucket, "ResultFiles": {"SUCCEEDED": files}}
    with open(os.path.join(root, bucket, PREFIX, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    with open(os.path.join(root, "unicode_expected.json"), "w") as f:
        json.dump(expected, f)
    print(json.dumps({"results": {"ResultWriterDetails": {
        "Bucket": bucket, "Key": PREFIX + "/manifest.json"}}}))


def check(root, bucket, key):
    with open(os.path.join(root, bucket, key), "rb") as f:
        got = f.read()
    with open(os.path.join(root, "unicode_expected.json")) as f:
        expected = json.load(f)
    bad = [i for i, b in enumerate(got) if b >= 0x80]
    if bad:
        sys.exit("results.json has %d non-ASCII bytes, the first at offset %d" % (len(bad), bad[0]))
    doc = json.loads(got)
    if doc["results"] != expected:
        first = next(i for i, (a, b) in enumerate(zip(doc["results"], expected)) if a != b)
        sys.exit("results[%d] differs: %r, expected %r" % (first, doc["results"][first], expected[first]))
    want = ('{"results":[' + ",".join(json.dumps(v, separators=(",", ":")) for v in expected) +
            '],"statuses":{"statuses":[]},"redactedResults":{"redactedFiles":[],"errors":[]}}')
    want = want.encode("ascii")
    if got != want:
        at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        sys.exit("results.json differs from json.dumps at byte %d: ...%r... expected ...%r..." %
                 (at, got[max(0, at - 40):at + 40], want[max(0, at - 40):at + 40]))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "generate":
        generate(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
