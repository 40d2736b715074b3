#!/usr/bin/env python3
# bench/lambda_ref.py: the Python reference as a Lambda function, for the cold-start comparison
# in `make bench` (--lambda). The handler is the reference semantics of bench/reference.py (boto3
# get_object of the manifest and of every SUCCEEDED file, json.loads of each Output, one
# json.dumps, one put_object), with its boto3 client made at import as Lambda handlers do. Below
# it, a minimal Runtime API loop (what AWS's Python runtime interface client does: GET
# .../invocation/next, run the handler, POST .../response or .../error), so that it runs as a
# `provided` function under the same emulator as the C package. Not part of the product.
import json
import os
import urllib.request
import uuid

import boto3

s3 = boto3.client("s3", endpoint_url=os.environ.get("BENCH_S3_ENDPOINT"))


def handler(event, context=None):
    d = event["results"]["ResultWriterDetails"]
    bucket, mkey = d["Bucket"], d["Key"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=mkey)["Body"].read().decode("utf-8"))
    results = []
    for f in manifest["ResultFiles"]["SUCCEEDED"]:
        body = s3.get_object(Bucket=bucket, Key=f["Key"])["Body"].read()
        for e in json.loads(body.decode("utf-8")):
            results.append(json.loads(e["Output"]))
    key = "%s/%s/results.json" % (mkey.split("/")[0], uuid.uuid4())
    doc = {"results": results, "statuses": {"statuses": []},
           "redactedResults": {"redactedFiles": [], "errors": []}}
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(doc).encode("utf-8"))
    return {"key": key, "bucket": bucket}


def main():
    api = "http://%s/2018-06-01/runtime/invocation/" % os.environ["AWS_LAMBDA_RUNTIME_API"]
    while True:
        with urllib.request.urlopen(api + "next") as r:
            request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(r.read())
        try:
            body, path = json.dumps(handler(event)), "/response"
        except Exception as e:  # reported as Lambda's Python runtime does
            body, path = json.dumps({"errorType": type(e).__name__, "errorMessage": str(e)}), "/error"
        req = urllib.request.Request(api + request_id + path, data=body.encode(), method="POST")
        with urllib.request.urlopen(req) as r:
            r.read()


if __name__ == "__main__":
    main()
