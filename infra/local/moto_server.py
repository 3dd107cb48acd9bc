"""moto_server, with DynamoDB and Secrets Manager requests run one at a time.

moto checks a write's condition and applies the write without a lock, so under load two racing
conditional writes (`ADD count` while `count < :limit`, `attribute_not_exists(PK)`) can both
succeed, which DynamoDB never allows: the contract tests' races would fail at random. Serialising
DynamoDB requests restores DynamoDB's per-item atomicity. The same holds for Secrets Manager's
conditional label move (`UpdateSecretVersionStage` with `RemoveFromVersionId`), the
compare-and-swap of credential writes. SQS requests stay concurrent (SQS long polls must not
block everything else). Arguments are moto_server's.
"""

import threading

from moto import server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_serialised = threading.Lock()
_SERIALISED_TARGETS = ("DynamoDB", "secretsmanager.")
_dispatch = DomainDispatcherApplication.__call__


def _call(self, environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith(_SERIALISED_TARGETS):
        with _serialised:
            return _dispatch(self, environ, start_response)
    return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _call

if __name__ == "__main__":
    server.main()
