#!/usr/bin/env python3
"""Reference for how the function this replaces read JSON: Python's json module.

  python_json.py limits                   prints {"version", "depth", "int_digits"}: the
                                          deepest nesting json.loads reads when called from a
                                          Lambda handler, and the most digits of an integer
  python_json.py generate ROOT BUCKET     writes an export that json.loads reads but a strict
                                          reader would not, prints its event (also ROOT/event.json)
  python_json.py check ROOT BUCKET KEY    checks results.json at ROOT/BUCKET/KEY

limits: the handler is called through as many frames as the Lambda runtime calls it through
(bootstrap module, main, run, handle_event_request), and json.loads from the handler itself;
arrays and objects are measured alike and the smaller depth is printed.

generate: the event, the manifest and the result files hold what Python's json.loads accepts:
several members of one name (the last counts), NaN, Infinity and -Infinity, 1e400, integers of
hundreds and of 4,300 digits, lone surrogate and \\u0000 escapes, deep nesting, in members the step
does not use; the Outputs hold DEL and non-ASCII text raw (json.dumps with ensure_ascii=False)
and escaped, and three Outputs of about 1 MiB whose ASCII copies are two to three times longer
(2-byte, 3-byte and 4-byte characters), each alone in its batch.

check: results.json must be byte for byte what the Python function wrote, json.dumps of the
Outputs as json.loads read them (with the separators of a minified document). Exit status 0
when it is, 1 with a message when not.
"""
import json
import os
import sys

PREFIX = "cons-py/run/results.json/map"


def deepest(make):
    """The deepest document make(depth) that json.loads reads, called right here."""
    lo, hi = 1, 5000
    while lo < hi:
        m = (lo + hi + 1) // 2
        try:
            json.loads(make(m))
            lo = m
        except RecursionError:
            hi = m - 1
    return lo


# The frames the Lambda runtime calls a handler through: bootstrap.py's module, main(),
# bootstrap.run(), handle_event_request(); the handler calls json.loads on what it reads, as
# the Python function did (deepest's frame stands for the handler's loop over the Outputs).
def lambda_handler(event, context):
    return min(deepest(lambda m: "[" * m + "]" * m),
               deepest(lambda m: '{"a":' * m + "1" + "}" * m))


def handle_event_request():
    return lambda_handler({}, None)


def run():
    return handle_event_request()


def main():
    return run()


def output_values():
    """The Outputs, as values, and whether each is written with ensure_ascii (the large ones
    are not: escaped, they would be over the 1 MiB an Output may have; the lone surrogates are:
    raw, they have no UTF-8 form)."""
    return [
        ({"fileId": "f-del", "path": "a\x7fb", "nested": {"k\x7f": ["\x7f", 1, None, True]}},
         False),
        ({"fileId": "f-text", "originalPath": "Ünïcødé/日本語/😀 \x7f", "n": 10 ** 4299,
          "neg": -(10 ** 4299), "ratio": 0.5, "list": [[[[{"deep": []}]]]]}, True),
        ({"fileId": "f-e", "s": "é" * 185686}, False),
        ({"fileId": "f-cjk", "s": "日" * 349500}, False),
        ({"fileId": "f-emoji", "s": "😀" * 262100}, False),
        ({"fileId": "f-lone", "s": "x\ud800y\udfff"}, True),
        ([[[[[[[[[[]]]]]]]]]], False),
    ]


def entry(i, value, ascii_output):
    """An entry's text: Output twice (the first a decoy), unused members Python reads."""
    output = json.dumps(value, ensure_ascii=ascii_output, separators=(",", ":"))
    decoy = json.dumps("{not json")
    return ('{"Name": "decoy", "Output": %s, "RedriveCount": NaN, "StartDate": Infinity, '
            '"StopDate": -Infinity, "Size": 1e400, "Big": %s, "Neg": -%s, "Lone": "\\ud800", '
            '"Nul": "a\\u0000b", "Deep": %s, "OutputDetails": {"Included": false}, '
            '"OutputDetails": {"Included": true, "Included": true}, "Name": %s, "Output": %s}'
            % (decoy, "7" * 4300, "9" * 400, "[" * 900 + "]" * 900,
               json.dumps("exec-%d-ü" % i, ensure_ascii=False), json.dumps(output,
                                                                             ensure_ascii=False)))


def generate(root, bucket):
    values = output_values()
    # Two files: a JSON array, then JSON Lines.
    os.makedirs(os.path.join(root, bucket, PREFIX), exist_ok=True)
    keys = []
    half = len(values) // 2
    for k, (jsonl, chunk) in enumerate(((False, values[:half]), (True, values[half:]))):
        texts = [entry(k * half + i, v, a) for i, (v, a) in enumerate(chunk)]
        body = "".join(t + "\n" for t in texts) if jsonl else "[" + ",\n ".join(texts) + "]"
        key = "%s/SUCCEEDED_%d.json" % (PREFIX, k)
        with open(os.path.join(root, bucket, key), "wb") as f:
            f.write(body.encode("utf-8", "surrogatepass"))
        keys.append(key)
    manifest = ('{"DestinationBucket": "%s", "MapRunArn": NaN, "ResultFiles": {"SUCCEEDED": '
                '[{"Key": "no-such-file.json"}], "FAILED": [], "PENDING": [], "SUCCEEDED": [%s]},'
                ' "Extra": [1e400, -Infinity, %s, "\\udc00"], "DestinationBucket": "%s"}'
                % ("elsewhere", ", ".join('{"Key": "x", "Key": "%s", "Size": %d}'
                                          % (k, os.path.getsize(os.path.join(root, bucket, k)))
                                          for k in keys), "1" * 300, bucket))
    with open(os.path.join(root, bucket, PREFIX, "manifest.json"), "w") as f:
        f.write(manifest)
    event = ('{"results": {"MapRunArn": "arn:aws:states:eu-west-2:1:mapRun:sm/Map:x", '
             '"ResultWriterDetails": {"Bucket": "elsewhere", "Key": "x/manifest.json", '
             '"Bucket": "%s", "Key": "%s/manifest.json"}, "Count": %s, "Ratio": NaN, '
             '"Far": 1e400, "Nul": "\\u0000", "Lone": "\\ud800", "Deep": %s}, '
             '"results2": -Infinity}'
             % (bucket, PREFIX, "1" * 4000, "[" * 900 + "]" * 900))
    with open(os.path.join(root, "event.json"), "w") as f:
        f.write(event)
    print(event)


def read_entries(text):
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def check(root, bucket, key):
    with open(os.path.join(root, "event.json")) as f:
        event = json.loads(f.read())
    d = event["results"]["ResultWriterDetails"]
    with open(os.path.join(root, d["Bucket"], d["Key"]), "rb") as f:
        manifest = json.loads(f.read().decode("utf-8"))
    results = []
    for rf in manifest["ResultFiles"]["SUCCEEDED"]:
        with open(os.path.join(root, manifest["DestinationBucket"], rf["Key"]), "rb") as f:
            for e in read_entries(f.read().decode("utf-8", "surrogatepass")):
                results.append(json.loads(e["Output"]))
    expected = json.dumps({"results": results, "statuses": {"statuses": []},
                           "redactedResults": {"redactedFiles": [], "errors": []}},
                          separators=(",", ":")).encode("ascii")
    want_key = "%s/" % d["Key"].split("/")[0]
    if not key.startswith(want_key):
        sys.exit("results key %s is not under %s" % (key, want_key))
    with open(os.path.join(root, bucket, key), "rb") as f:
        got = f.read()
    if got != expected:
        at = next((i for i in range(min(len(got), len(expected))) if got[i] != expected[i]),
                  min(len(got), len(expected)))
        sys.exit("results.json differs from json.dumps at byte %d (%d bytes, expected %d): "
                 "%r instead of %r" % (at, len(got), len(expected), got[at:at + 60],
                                       expected[at:at + 60]))


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "limits":
        print(json.dumps({"version": "%d.%d" % sys.version_info[:2], "depth": main(),
                          "int_digits": sys.get_int_max_str_digits()
                          if hasattr(sys, "get_int_max_str_digits") else 0}))
    elif len(sys.argv) == 4 and sys.argv[1] == "generate":
        generate(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
