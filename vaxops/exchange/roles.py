"""Who may do what with the exchange (assembled into groups by ``vaxops.accounts.roles``): the county CDC
configures the endpoints, watches the outbox and the 2-day rule, and decides the incoming doses that need a
person; the leader and the auditor see the 2-day rule's figures."""

GRANTS: dict[str, tuple[str, ...]] = {
    "county_admin": (
        "exchange.view_endpoint",
        "exchange.add_endpoint",
        "exchange.change_endpoint",
        "exchange.view_outboundmessage",
        "exchange.change_outboundmessage",
        "exchange.view_inboundreview",
        "exchange.change_inboundreview",
        "exchange.add_inbounddose",
    ),
    "leader": ("exchange.view_outboundmessage",),
    "auditor": ("exchange.view_outboundmessage", "exchange.view_endpoint"),
}
