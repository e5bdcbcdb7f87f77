"""AWS Signature Version 4 verification, using botocore's own signer to recompute signatures."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from openpersonalize.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<headers>[^,]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


def verify(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Mapping[str, str],
) -> str:
    """Check the request's SigV4 signature; returns the access key id or raises a 403 error."""
    authorization = headers.get("authorization")
    if not authorization:
        raise MissingAuthenticationTokenException("Missing Authentication Token")
    match = _AUTH.match(authorization.strip())
    if not match:
        raise IncompleteSignatureException(
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'."
        )
    key = match["key"]
    secret = credentials.get(key)
    if secret is None:
        raise UnrecognizedClientException("The security token included in the request is invalid.")
    amz_date = headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise IncompleteSignatureException("Missing or malformed X-Amz-Date header.") from None
    skew = abs((datetime.now(UTC) - signed_at).total_seconds())
    if skew > 15 * 60:
        raise InvalidSignatureException(
            "Signature expired: the request time is more than 15 minutes away."
        )
    signed_names = match["headers"].split(";")
    request = AWSRequest(
        method=method,
        url=url,
        headers={name: headers.get(name, "") for name in signed_names},
        data=body,
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(key, secret), match["service"], match["region"])
    # botocore signs the headers it is given; keep exactly the client's signed set.
    signed = HTTPHeaders()
    for name in signed_names:
        signed[name] = headers.get(name, "")
    signer.headers_to_sign = lambda req: signed
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    expected = signer.signature(string_to_sign, request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise InvalidSignatureException(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
    return key
