"""stockroute's ops console: a small Flask application over the extension's tables.

Pages for people (overview, nodes, reconciliation, orders, backorders, alerts,
interventions), interventions that call the extension's own SQL functions with
bound parameters, and the signed webhook intake of location events
(POST /api/events).  Run it with ``python3 -m console serve``; docs/console.md
says how.
"""
