"""ECR's GetAuthorizationToken as ECR answers it, for moto.

moto 5.2 hands out one constant token, ``AWS:<account>-auth-token``, already
expired (expiresAt 2015-01-01). Real ECR hands out a new token on every call,
good for 12 hours (ECR API reference, GetAuthorizationToken: "The
authorization token is valid for 12 hours"; AuthorizationData.expiresAt).

Its password is opaque to clients; decoded, a real one is base64 of a JSON
object (payload, datakey, version, type, expiration). The tokens made here
have that shape, with the account added, so that the registry stand-in
(registry_standin.py) can tell a token it should accept, one that has
expired, and one of another account, without sharing any state with this
server: it reads ``expiration`` and ``accountId`` and nothing else.
"""

import base64
import itertools
import json
import time

from moto.core.responses import ActionResult
from moto.ecr import responses as ecr_responses

# ECR API reference, GetAuthorizationToken: valid for 12 hours.
TOKEN_LIFETIME_SECONDS = 12 * 60 * 60

_serial = itertools.count(1)


def make_password(account: str, expiration: int, serial: int) -> str:
    """An ECR-shaped registry password for `account`, expiring at `expiration`."""
    document = {
        "payload": f"stand-in-payload-{serial}",
        "datakey": f"stand-in-datakey-{serial}",
        "version": "2",
        "type": "DATA_KEY",
        "expiration": expiration,
        "accountId": account,
    }
    return base64.b64encode(json.dumps(document, sort_keys=True).encode()).decode()


def get_authorization_token(self) -> ActionResult:
    registry_ids = self._get_param("registryIds") or [self.current_account]
    expires_at = int(time.time()) + TOKEN_LIFETIME_SECONDS
    data = []
    for registry_id in registry_ids:
        password = make_password(registry_id, expires_at, next(_serial))
        token = base64.b64encode(f"AWS:{password}".encode()).decode()
        data.append(
            {
                "authorizationToken": token,
                "expiresAt": expires_at,
                "proxyEndpoint": f"https://{registry_id}.dkr.ecr.{self.region}.amazonaws.com",
            }
        )
    return ActionResult({"authorizationData": data})


def install() -> None:
    ecr_responses.ECRResponse.get_authorization_token = get_authorization_token
