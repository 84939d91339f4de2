"""The demo feed: locations sending their events through the webhook, and a trickle of orders.

Each tick a few nodes send a signed batch (receipts, sales, adjustments, now and
then a count) to POST /api/events, as a 3PL's or a store's system would:

  * most events arrive within seconds of occurring, some minutes late;
  * every third tick one node holds an event back and sends it with its next
    batch, after higher sequence numbers (out of order: a sync gap opens, then
    fills);
  * every fourth tick a node sends its previous batch again (duplicates);
  * --silent-node stops sending after --silent-after ticks, so the node goes
    stale once its stale_after passes and reconcile() runs.

Every --orders-every ticks an order for a random SKU and destination is
allocated (as an integration would, through the database connection), and
about one in three is committed.  VALVE-9 is left alone so that the seed order
SO-1001 keeps its plan.
"""
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import random
import time
import urllib.error
import urllib.request

import psycopg2

from . import db

log = logging.getLogger("console.feed")

CITIES = [
    ("Atlanta", 33.75, -84.39, "GA", "30303"), ("Chicago", 41.88, -87.63, "IL", "60601"),
    ("Dallas", 32.78, -96.80, "TX", "75201"), ("Seattle", 47.61, -122.33, "WA", "98101"),
    ("Brooklyn", 40.68, -73.94, "NY", "11216"), ("Los Angeles", 34.05, -118.24, "CA", "90012"),
    ("Denver", 39.74, -104.99, "CO", "80202"), ("Miami", 25.76, -80.19, "FL", "33130"),
    ("Boston", 42.36, -71.06, "MA", "02108"), ("Phoenix", 33.45, -112.07, "AZ", "85004"),
    ("Nashville", 36.16, -86.78, "TN", "37203"), ("Salt Lake City", 40.76, -111.89, "UT", "84101"),
]
KINDS = [("sale", 50), ("receipt", 30), ("adjust", 12), ("count", 8)]


def load_secrets(path):
    secrets = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                secrets[parts[0]] = parts[1]
    if not secrets:
        raise ValueError(f'{path} holds no "NODE SECRET" lines')
    return secrets


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def post(url, node, secret, events):
    """POST one signed batch; (HTTP status, reply)."""
    body = json.dumps(events).encode("utf-8")
    req = urllib.request.Request(url.rstrip("/") + "/api/events", data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Stockroute-Node": node,
        "X-Stockroute-Signature": sign(secret, body)})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read())
        except ValueError:
            return e.code, {"error": e.reason}


class Feed:
    def __init__(self, args, conn, secrets):
        self.args, self.conn, self.secrets = args, conn, secrets
        self.rng = random.Random(args.seed)
        self.tag = format(int(time.time()), "x") if args.seed is None else f"s{args.seed}"
        self.stats = {"batches": 0, "applied": 0, "duplicate": 0, "superseded": 0, "rejected": 0,
                      "refused": 0, "orders": 0, "committed": 0}
        with conn.cursor() as cur:
            cur.execute("SELECT n.node_id, coalesce(n.seq_max, 0) FROM stockroute.node n "
                        "WHERE n.node_id = ANY (%s) AND n.status <> 'offline' ORDER BY n.node_id",
                        (sorted(secrets),))
            self.seq = dict(cur.fetchall())
            cur.execute("SELECT s.node_id, s.sku, s.on_hand FROM stockroute.stock s WHERE s.node_id = ANY (%s) "
                        "AND s.sku <> 'VALVE-9' ORDER BY 1, 2", (sorted(self.seq),))
            self.skus, self.on_hand = {}, {}
            for node, sku, on_hand in cur.fetchall():
                self.skus.setdefault(node, []).append(sku)
                self.on_hand[node, sku] = on_hand
            cur.execute("SELECT i.sku FROM stockroute.item i WHERE i.sku <> 'VALVE-9' "
                        "AND NOT ('hazmat' = ANY (i.tags)) ORDER BY 1")
            self.order_skus = [r[0] for r in cur.fetchall()]
        conn.commit()
        self.nodes = [n for n in sorted(self.seq) if self.skus.get(n)]
        self.held = {}          # node -> events held back for its next batch
        self.last_batch = {}    # node -> the events it sent last
        self.order_no = 0

    def event(self, node, now):
        """One event of the node; the feed keeps its own idea of the shelf, so sales sell what is there."""
        self.seq[node] += 1
        kind = self.rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
        stocked = [k for k in self.skus[node] if self.on_hand[node, k] >= 4]
        if kind != "receipt" and not stocked:
            kind = "receipt"
        sku = self.rng.choice(self.skus[node] if kind == "receipt" else stocked)
        have = self.on_hand[node, sku]
        if kind == "sale":
            qty = self.rng.randint(1, min(4, have // 2))
            self.on_hand[node, sku] = have - qty
        elif kind == "receipt":
            qty = self.rng.randint(5, 30)
            self.on_hand[node, sku] = have + qty
        elif kind == "adjust":
            qty = self.rng.choice([-2, -1, 1, 2])
            self.on_hand[node, sku] = have + qty
        else:
            # a cycle count finds a little less than the feed thought now and then
            qty = max(0, have + self.rng.choice([-3, -1, 0, 0, 0, 1]))
            self.on_hand[node, sku] = qty
        lag = self.rng.uniform(30, 600) if self.rng.random() < 0.1 else self.rng.uniform(0.1, 5)
        occurred = now - dt.timedelta(seconds=lag)
        return {"node_id": node, "idempotency_key": f"{node}-{self.tag}-{self.seq[node]}", "seq": self.seq[node],
                "kind": kind, "sku": sku, "qty": qty,
                "occurred_at": occurred.isoformat(timespec="milliseconds").replace("+00:00", "Z")}

    def send(self, node, events):
        status, reply = post(self.args.url, node, self.secrets[node], events)
        self.stats["batches"] += 1
        if status == 200:
            for k in ("applied", "duplicate", "superseded", "rejected"):
                self.stats[k] += reply[k]
            log.info("%s: %d event(s): %s applied, %s duplicate, %s superseded, %s rejected", node, len(events),
                     reply["applied"], reply["duplicate"], reply["superseded"], reply["rejected"])
        else:
            self.stats["refused"] += 1
            log.warning("%s: batch refused with %s: %s", node, status, reply.get("error"))

    def order(self):
        self.order_no += 1
        name, lat, lon, region, postal = self.rng.choice(CITIES)
        lines = [{"line_ref": str(i + 1), "sku": sku, "qty": self.rng.randint(1, 6)}
                 for i, sku in enumerate(self.rng.sample(self.order_skus, self.rng.choice([1, 1, 2])))]
        ref = f"WEB-{self.tag}-{self.order_no}"
        doc = {"order_ref": ref, "ship_to": {"lat": lat, "lon": lon, "country": "US", "region": region,
                                             "postal_code": postal},
               "customer": {"id": f"W-{self.rng.randint(100, 999)}", "segment": "tier3"}, "lines": lines}
        try:
            with self.conn.cursor() as cur:
                cur.execute("SELECT stockroute.allocate(%s::jsonb)", (json.dumps(doc),))
                plan = cur.fetchone()[0]
                self.conn.commit()
                self.stats["orders"] += 1
                if plan["reservations"] and self.rng.random() < 0.35:
                    cur.execute("SELECT stockroute.commit(%s)", (ref,))
                    self.conn.commit()
                    self.stats["committed"] += 1
            log.info("order %s to %s: %s", ref, name, plan["status"])
        except psycopg2.Error as e:
            self.conn.rollback()
            log.warning("order %s: %s", ref, db.describe_error(e))

    def tick(self, t):
        now = dt.datetime.now(dt.timezone.utc)
        live = [n for n in self.nodes if not (n == self.args.silent_node and t > self.args.silent_after)]
        if t == self.args.silent_after + 1 and self.args.silent_node in self.nodes:
            log.info("%s goes silent", self.args.silent_node)
        picked = self.rng.sample(live, min(len(live), self.rng.randint(2, 4)))
        for i, node in enumerate(picked):
            events = [self.event(node, now) for _ in range(self.rng.randint(1, 4))]
            late = self.held.pop(node, [])
            if i == 0 and t % 3 == 0 and len(events) > 1:
                self.held[node] = events[:1]     # the lowest seq waits for the next batch
                events = events[1:]
            events = events + late               # the held event arrives after higher seqs
            self.rng.shuffle(events)
            self.send(node, events)
            self.last_batch[node] = events
        if t % 4 == 0 and self.last_batch:
            node = self.rng.choice(sorted(self.last_batch))
            if node in live:
                self.send(node, self.last_batch[node])
        if self.args.orders_every and t % self.args.orders_every == 0 and self.order_skus:
            self.order()

    def flush(self):
        """Send what is still held back, so a bounded run leaves no gap of its own making."""
        for node, events in sorted(self.held.items()):
            self.send(node, events)
        self.held.clear()


def run_feed(args):
    secrets = load_secrets(args.secrets)
    conn = psycopg2.connect(os.environ.get("CONSOLE_DATABASE_URL", ""), application_name="stockroute-feed")
    try:
        feed = Feed(args, conn, secrets)
        log.info("feed: %d node(s) to %s, a tick every %.1f s", len(feed.nodes), args.url, args.interval)
        t = 0
        while not args.ticks or t < args.ticks:
            t += 1
            feed.tick(t)
            if args.interval:
                time.sleep(args.interval)
        feed.flush()
    finally:
        conn.close()
    print("feed: " + ", ".join(f"{k} {v}" for k, v in feed.stats.items()), flush=True)
    return 0
