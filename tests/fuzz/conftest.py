"""The service fixtures of tests/service, for the fuzz tests."""

from tests.service.conftest import (  # noqa: F401 (fixtures)
    admin,
    jwks_server,
    service,
    signer,
    url_signer,
)
