"""The demo county's exchange: one endpoint, the provincial platform, played by the local receiving FHIR server
(``vaxops exchange receiver --port 8090``, started by ``make demo``), so the doses recorded in the demo flow
out through the outbox (``vaxops worker`` drains it every minute; ``vaxops exchange send`` at once)."""

from vaxops.core.actors import SystemActor
from vaxops.exchange.models import Endpoint
from vaxops.exchange.services import endpoint_save

DEMO_RECEIVER = "http://127.0.0.1:8090/fhir"


def demo_exchange_build() -> bool:
    """Configure the demo endpoint once (an endpoint the county edited is left as it is)."""
    if Endpoint.objects.filter(code="province-demo").exists():
        return False
    endpoint_save(
        actor=SystemActor("demo"),
        code="province-demo",
        name="省级免疫规划信息平台（本地演示接收端）",
        kind="provincial",
        url=DEMO_RECEIVER,
        profile="",
        batch_size=200,
    )
    return True
