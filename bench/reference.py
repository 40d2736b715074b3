#!/usr/bin/env python3
# bench/reference.py: the project's own copy of the Python reference implementation of this
# step (the behaviour the C program replaces: boto3 get_object of the manifest and of every
# SUCCEEDED file, json.loads of each Output, one json.dumps, one put_object), used only by
# `make bench` to measure the two side by side. Not part of the product; kept verbatim apart
# from this header so that the comparison stays fair.
"""Reference semantics of the backend checks results step, written from the seed README,
used to measure the project side by side. Reads the event on stdin.

usage: reference.py [--dir ROOT | --endpoint URL]   (ROOT/BUCKET/KEY layout for --dir)
Prints {"key","bucket"}; the results object goes to ROOT/BUCKET/KEY or to S3.
"""
import json, sys, uuid, argparse

ap = argparse.ArgumentParser(); ap.add_argument("--dir"); ap.add_argument("--endpoint")
a = ap.parse_args()
if a.dir:
    import os
    get = lambda b, k: open(os.path.join(a.dir, b, k), "rb").read()
    def put(b, k, body):
        p = os.path.join(a.dir, b, k); os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, "wb").write(body)
else:
    import boto3
    s3 = boto3.client("s3", endpoint_url=a.endpoint)
    get = lambda b, k: s3.get_object(Bucket=b, Key=k)["Body"].read()
    put = lambda b, k, body: s3.put_object(Bucket=b, Key=k, Body=body)

event = json.load(sys.stdin)
d = event["results"]["ResultWriterDetails"]
bucket, mkey = d["Bucket"], d["Key"]
manifest = json.loads(get(bucket, mkey).decode("utf-8"))
results = []
for f in manifest["ResultFiles"]["SUCCEEDED"]:
    for e in json.loads(get(bucket, f["Key"]).decode("utf-8")):
        results.append(json.loads(e["Output"]))
key = "%s/%s/results.json" % (mkey.split("/")[0], uuid.uuid4())
put(bucket, key, json.dumps({"results": results, "statuses": {"statuses": []},
                             "redactedResults": {"redactedFiles": [], "errors": []}}).encode("utf-8"))
print(json.dumps({"key": key, "bucket": bucket}))
