"""The demo's orders, allocated as demo/orders.sql defines them.

demo/orders.sql names its orders in psql variables (\\set so1001 '{...}') and
fixes the routing clock (SET stockroute.now = '...').  The console's demo reads
both from that file, so the orders it allocates are the demo's own, in their
order (SO-1001 first: A 8 + B 12), at the demo's clock.
"""
import json
import re

ORDER_LINE = re.compile(r"^\\set\s+(so\d+)\s+'(\{.*\})'\s*$")
CLOCK_LINE = re.compile(r"^SET\s+stockroute\.now\s*=\s*'([^']+)'\s*;", re.IGNORECASE)


def demo_orders(path):
    """(routing clock, [order documents]) defined by demo/orders.sql."""
    clock, orders = None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = CLOCK_LINE.match(line)
        if m and clock is None:
            clock = m.group(1)
        m = ORDER_LINE.match(line)
        if m:
            orders.append((m.group(1), json.loads(m.group(2))))
    if clock is None or not orders:
        raise ValueError(f"{path}: no SET stockroute.now or no \\set soNNNN '{{...}}' order found")
    return clock, [doc for _, doc in sorted(orders, key=lambda o: o[0])]


def allocate_demo_orders(conn, path):
    """Allocate each demo order at the demo's clock; yield one line per order."""
    clock, orders = demo_orders(path)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_catalog.set_config('stockroute.now', %s, true)", (clock,))
        for doc in orders:
            cur.execute("SELECT stockroute.allocate(%s::jsonb)", (json.dumps(doc),))
            plan = cur.fetchone()[0]
            ships = ", ".join(f'{s["node_id"]} {sum(l["qty"] for l in s["lines"])}' for s in plan["shipments"])
            unfilled = sum(u["qty"] for u in plan["unfilled"])
            yield (f'{doc["order_ref"]}: {plan["status"]}, ships {ships or "nothing"}'
                   + (f", {unfilled} backordered" if unfilled else ""))
    conn.commit()
