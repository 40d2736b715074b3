#!/usr/bin/env python3
# bench/gen_results.py: the project's copy of the realistic export generator used by
# `make bench` (Step Functions Distributed Map ResultWriter layout, TDR file-check records,
# about 2.4 KB an entry). Data is generated at bench time under build/, never committed.
"""Generate a realistic Distributed Map ResultWriter export for the backend checks.

Writes, under OUT/BUCKET/, the manifest and SUCCEEDED_n.json files that Step Functions
would write for a consignment of N files, and prints the invocation event.

usage: gen_results.py OUT N [--files K] [--bucket B] [--seed S] [--jsonl]
"""
import argparse, json, os, random, uuid

def rid(r):
    return str(uuid.UUID(int=r.getrandbits(128), version=4))

def file_record(r, consignment):
    fid = rid(r)
    ext = r.choice(["pdf", "docx", "txt", "jpg", "xlsx", "tif"])
    path = "/".join(["Transfer", r.choice(["Board minutes", "Reports", "Photos", "Ünïcødé ✓"]),
                     "file-%d.%s" % (r.randrange(10**6), ext)])
    return {
        "consignmentId": consignment, "fileId": fid, "userId": rid(r),
        "consignmentType": "standard", "fileSize": str(r.randrange(10**9)),
        "clientChecksum": "%064x" % r.getrandbits(256), "originalPath": path,
        "s3SourceBucket": "tdr-upload-files-cloudfront-dirty-intg",
        "s3SourceBucketKey": "%s/%s/%s" % (rid(r), consignment, fid),
        "s3QuarantineBucket": None, "s3QuarantineBucketKey": None,
        "s3CleanDestinationBucket": "tdr-upload-files-intg",
        "s3CleanDestinationBucketKey": "%s/%s" % (consignment, fid),
        "fileCheckResults": {
            "antivirus": [{"fileId": fid, "software": "yara", "softwareVersion": "4.3.2",
                           "databaseVersion": "1.0.%d" % r.randrange(100), "result": "",
                           "datetime": 1700000000000 + r.randrange(10**9)}],
            "checksum": [{"sha256Checksum": "%064x" % r.getrandbits(256), "fileId": fid}],
            "fileFormat": [{"fileId": fid, "software": "DROID", "softwareVersion": "6.7.0",
                            "binarySignatureFileVersion": "118", "containerSignatureFileVersion": "20240501",
                            "method": "pronom", "matches": [{"extension": ext, "identificationBasis": "Signature",
                                                             "puid": "fmt/%d" % r.randrange(2000),
                                                             "fileExtensionMismatch": r.random() < 0.1,
                                                             "formatName": "Format \"%s\"" % ext.upper()}]}],
        },
    }

def entry(r, consignment, sm, i):
    rec = file_record(r, consignment)
    name = rid(r)
    inp = {k: rec[k] for k in ("consignmentId", "fileId", "userId", "originalPath")}
    return rec, {
        "ExecutionArn": "arn:aws:states:eu-west-2:123456789012:execution:%s/Map:%s" % (sm, name),
        "Input": json.dumps(inp, separators=(",", ":")), "InputDetails": {"Included": True},
        "Name": name, "Output": json.dumps(rec, separators=(",", ":"), ensure_ascii=False),
        "OutputDetails": {"Included": True}, "RedriveCount": 0, "RedriveStatus": "NOT_REDRIVABLE",
        "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
        "StartDate": "2026-11-21T10:00:%02d.%03dZ" % (i % 60, i % 1000),
        "StateMachineArn": "arn:aws:states:eu-west-2:123456789012:stateMachine:%s/Map" % sm,
        "Status": "SUCCEEDED", "StopDate": "2026-11-21T10:01:%02d.%03dZ" % (i % 60, i % 1000),
    }

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out"); ap.add_argument("n", type=int)
    ap.add_argument("--files", type=int, default=1); ap.add_argument("--bucket", default="tdr-backend-checks-intg")
    ap.add_argument("--seed", type=int, default=1); ap.add_argument("--jsonl", action="store_true")
    ap.add_argument("--expect", help="also write the expected list of parsed outputs here")
    a = ap.parse_args()
    r = random.Random(a.seed)
    consignment, run, maprun = rid(r), rid(r), rid(r)
    sm = "tdr-backend-checks-intg"
    prefix = "%s/%s/results.json/%s" % (consignment, run, maprun)
    root = os.path.join(a.out, a.bucket)
    os.makedirs(os.path.join(root, prefix), exist_ok=True)
    per = (a.n + a.files - 1) // max(a.files, 1)
    files, expected, i = [], [], 0
    for k in range(a.files):
        key = "%s/SUCCEEDED_%d.json" % (prefix, k)
        entries = []
        for _ in range(min(per, a.n - i)):
            rec, e = entry(r, consignment, sm, i); entries.append(e); expected.append(rec); i += 1
        path = os.path.join(root, key)
        with open(path, "w", encoding="utf-8") as f:
            if a.jsonl:
                for e in entries: f.write(json.dumps(e, ensure_ascii=False) + "\n")
            else:
                json.dump(entries, f, ensure_ascii=False)
        files.append({"Key": key, "Size": os.path.getsize(path)})
    manifest = {"DestinationBucket": a.bucket,
                "MapRunArn": "arn:aws:states:eu-west-2:123456789012:mapRun:%s/Map:%s" % (sm, maprun),
                "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": files}}
    mkey = prefix + "/manifest.json"
    with open(os.path.join(root, mkey), "w") as f:
        json.dump(manifest, f, indent=4)
    if a.expect:
        with open(a.expect, "w", encoding="utf-8") as f: json.dump(expected, f, ensure_ascii=False)
    print(json.dumps({"results": {"MapRunArn": manifest["MapRunArn"],
                                  "ResultWriterDetails": {"Bucket": a.bucket, "Key": mkey}}}))

if __name__ == "__main__":
    main()
