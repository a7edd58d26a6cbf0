"""The clinic tests' people and staff, shared by the desk tests."""

from vaxops.clinic.tests.conftest import *  # noqa: F403
