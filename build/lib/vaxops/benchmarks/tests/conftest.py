"""The certificate tests' vaccinated person, for the certificate benchmark's test."""

from vaxops.certs.tests.conftest import *  # noqa: F403
from vaxops.clinic.tests.conftest import *  # noqa: F403
