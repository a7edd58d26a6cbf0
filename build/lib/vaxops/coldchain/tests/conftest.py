"""The desk's people and open site, shared by the cold-chain tests (a site whose refrigerator holds stock)."""

from vaxops.desk.tests.conftest import *  # noqa: F403
