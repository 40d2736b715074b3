#!/usr/bin/env python3
"""Reference SigV4 signer for S3, built on botocore, for the differential test.

Reads JSON Lines on stdin, one request each; writes one JSON line per request
on stdout. Byte strings travel as hex so any bytes survive the trip.

Input fields:
  method        "GET", "PUT", ...
  host          Host header value; the URL is https://<host>, so a host must be
                lowercase and carry no :443 (botocore derives Host from the URL)
  path_hex      the raw (unencoded) request path, e.g. "/bucket/key"
  params        [[name_hex, value_hex], ...] raw query parameters
  headers       [[name, value], ...] other headers to sign (ASCII)
  body_hex      the request body (its SHA-256 is signed), unless...
  unsigned      true: sign UNSIGNED-PAYLOAD instead
  access_key, secret_key, token (null for none)
  region, service
  time          signing time, UTC seconds

Output fields: amz_date, path (encoded), query (as sent), canonical_request,
string_to_sign, authorization.

Everything is done the way botocore itself does it for S3: the path is encoded
with percent_encode(safe='/~') as its REST serializer does, the query string
with percent_encode_sequence, and S3SigV4Auth signs with no path normalisation
(its _normalize_url_path returns the path untouched). add_auth() is unrolled
only to fix the timestamp, which it would otherwise take from the clock.

Exit status 77 means botocore is not installed (the test skips).
"""

import datetime
import json
import sys

try:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials
    from botocore.utils import percent_encode, percent_encode_sequence
except ImportError as e:  # pragma: no cover - environment dependent
    print(f"sigv4_botocore: botocore is not available: {e}", file=sys.stderr)
    sys.exit(77)


def sign(spec):
    path = percent_encode(bytes.fromhex(spec["path_hex"]), safe="/~")
    params = [(bytes.fromhex(n), bytes.fromhex(v)) for n, v in spec["params"]]
    query = percent_encode_sequence(params)
    url = f"https://{spec['host']}{path}"
    if query:
        url += "?" + query

    request = AWSRequest(method=spec["method"], url=url, data=bytes.fromhex(spec["body_hex"]))
    for name, value in spec["headers"]:
        # HTTPHeaders appends on assignment, so repeated names are all kept.
        request.headers[name] = value
    if spec["unsigned"]:
        request.context["client_config"] = Config(s3={"payload_signing_enabled": False})

    credentials = Credentials(spec["access_key"], spec["secret_key"], spec["token"])
    auth = S3SigV4Auth(credentials, spec["service"], spec["region"])
    when = datetime.datetime.fromtimestamp(spec["time"], datetime.timezone.utc)
    request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")

    # The body of SigV4Auth.add_auth, minus its clock.
    auth._modify_request_before_signing(request)
    canonical_request = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical_request)
    signature = auth.signature(string_to_sign, request)
    auth._inject_signature_to_request(request, signature)

    return {
        "amz_date": request.context["timestamp"],
        "path": path,
        "query": query,
        "canonical_request": canonical_request,
        "string_to_sign": string_to_sign,
        "authorization": request.headers["Authorization"],
    }


def main():
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(sign(json.loads(line))), flush=False)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
