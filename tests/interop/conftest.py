"""The service fixtures of tests/service, for the corpus tests that go over HTTP."""

from tests.service.conftest import (  # noqa: F401
    admin,
    jwks_server,
    service,
    signer,
    url_signer,
)
