"""tenantgate test harness: real PostgreSQL and OpenBao, in-process
stand-ins for the Kubernetes TokenReview API, Atlassian Cloud and an OIDC
issuer, and Proc for the daemons under test.  Usable from pytest
(test/conftest.py) and from plain scripts (`make demo`).  docs/testing.md
explains how it fits together.
"""

from . import runtime, secrets
from .atlassian import FakeAtlassian, adf, adf_text
from .bao import BaoError, OpenBao
from .oidc import (OPENWEBUI_HEADER, OidcIssuer, encode_raw, hs256_raw,
                   mint_openwebui)
from .pg import PgError, Postgres
from .proc import (HarnessError, Proc, free_port, free_port_pair, wait_for,
                   wait_http)
from .stack import Stack
from .tokenreview import TokenReview, sa_uid

all_log_paths = runtime.all_log_paths
cleanup = runtime.cleanup

__all__ = [
    "BaoError", "FakeAtlassian", "HarnessError", "OPENWEBUI_HEADER",
    "OidcIssuer", "OpenBao", "PgError", "Postgres", "Proc", "Stack",
    "TokenReview", "adf", "adf_text", "all_log_paths", "cleanup",
    "encode_raw", "free_port", "free_port_pair", "hs256_raw",
    "mint_openwebui", "runtime", "sa_uid", "secrets", "wait_for",
    "wait_http",
]
