"""python3 -m console COMMAND: the ops console's commands (docs/console.md).

  serve                      serve the console (CONSOLE_HOST, CONSOLE_PORT; the database from
                             CONSOLE_DATABASE_URL or the PG* variables)
  key generate FILE          write a new sealing key to FILE (mode 600)
  secret set NODE... | --all give nodes new webhook secrets (printed once: "NODE SECRET" lines),
                             sealed under CONSOLE_KEY_FILE; --stdin reads one node's secret instead
  secret delete NODE...      remove nodes' secrets (their webhook batches are refused from then on)
  secret reseal --old-key-file FILE
                             re-seal every secret sealed under FILE's key with CONSOLE_KEY_FILE's
  demo-orders [FILE]         allocate the orders demo/orders.sql defines, at its routing clock
  feed --url URL --secrets FILE
                             the demo feed: signed location events through the webhook, and orders
"""
import argparse
import logging
import os
import sys
from pathlib import Path

import psycopg2

from . import db, sealing

ROOT = Path(__file__).resolve().parent.parent


def connect():
    conn = psycopg2.connect(os.environ.get("CONSOLE_DATABASE_URL", ""), application_name=db.APPLICATION_NAME)
    return conn


def fail(message):
    print(f"console: {message}", file=sys.stderr)
    return 1


def cmd_serve(args):
    from waitress import create_server

    from .app import FORM_BYTES, create_app, settings_from_env

    settings = settings_from_env()
    app = create_app(settings)
    host = os.environ.get("CONSOLE_HOST", "127.0.0.1")
    port = int(os.environ.get("CONSOLE_PORT", "8080"))
    with app.app_context():
        with app.extensions["stockroute_console"]["db"].connect() as conn:
            who = db.row(conn, "SELECT current_user AS role, current_database() AS database, "
                               "pg_catalog.pg_has_role(current_user, 'stockroute_admin', 'MEMBER') AS admin")
    # the server refuses bodies beyond what any request may carry: a webhook batch of
    # stockroute.max_batch_events events (read now: restart after changing it), or a form
    max_bytes = max(app.extensions["stockroute_console"]["batch_limits"]()[1], FORM_BYTES) + 1024
    server = create_server(app, host=host, port=port, threads=settings["threads"], ident="stockroute-console",
                           max_request_body_size=max_bytes)
    mode = "interventions allowed" if who["admin"] else "read-only: not a member of stockroute_admin"
    webhook = "webhook on" if settings["key_file"] else "webhook off (no CONSOLE_KEY_FILE)"
    print(f"console: serving http://{host}:{server.effective_port}/ as {who['role']}@{who['database']} "
          f"({mode}; {webhook})", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0


def cmd_key_generate(args):
    try:
        kid = sealing.generate_key_file(args.file)
    except FileExistsError:
        return fail(f"{args.file} exists: a key is never overwritten (re-seal with secret reseal)")
    print(f"console: wrote key {kid} to {args.file}")
    return 0


def _key():
    return sealing.load_key(os.environ.get("CONSOLE_KEY_FILE", ""))


def cmd_secret_set(args):
    key = _key()
    if args.stdin and (args.all or len(args.nodes) != 1):
        return fail("--stdin sets the secret of exactly one node")
    if not args.all and not args.nodes:
        return fail("name the nodes, or --all")
    given = sys.stdin.readline().rstrip("\n") if args.stdin else None
    if given is not None and len(given) < 16:
        return fail("a secret must be at least 16 characters")
    conn = connect()
    try:
        with conn.cursor() as cur:
            nodes = args.nodes
            if args.all:
                cur.execute("SELECT node_id FROM stockroute.node ORDER BY node_id")
                nodes = [r[0] for r in cur.fetchall()]
            issued = []
            for node in nodes:
                secret = given or sealing.new_secret()
                cur.execute("SELECT stockroute.set_node_secret(%s, %s, %s)",
                            (node, psycopg2.Binary(sealing.seal(key, node, secret.encode("utf-8"))),
                             sealing.key_id(key)))
                issued.append((node, secret))
        conn.commit()
    finally:
        conn.close()
    if not args.stdin:
        for node, secret in issued:
            print(f"{node} {secret}")
    print(f"console: {len(issued)} secret(s) set under key {sealing.key_id(key)}", file=sys.stderr)
    return 0


def cmd_secret_delete(args):
    with connect() as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM stockroute.node_secret WHERE node_id = ANY (%s) RETURNING node_id", (args.nodes,))
        gone = sorted(r[0] for r in cur.fetchall())
        conn.commit()
    print(f"console: removed the secret of {', '.join(gone) if gone else 'no node'}", file=sys.stderr)
    return 0 if gone else 1


def cmd_secret_reseal(args):
    key, old = _key(), sealing.load_key(args.old_key_file)
    with connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT node_id, sealed FROM stockroute.node_secret WHERE key_id = %s ORDER BY node_id",
                    (sealing.key_id(old),))
        rows = cur.fetchall()
        for node, sealed in rows:
            secret = sealing.unseal(old, node, sealed)
            cur.execute("SELECT stockroute.set_node_secret(%s, %s, %s)",
                        (node, psycopg2.Binary(sealing.seal(key, node, secret)), sealing.key_id(key)))
        conn.commit()
    print(f"console: re-sealed {len(rows)} secret(s) from key {sealing.key_id(old)} to {sealing.key_id(key)}",
          file=sys.stderr)
    return 0


def cmd_demo_orders(args):
    from .demo import allocate_demo_orders
    with connect() as conn:
        for line in allocate_demo_orders(conn, Path(args.file)):
            print(line)
    return 0


def cmd_feed(args):
    from .feed import run_feed
    return run_feed(args)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m console", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve").set_defaults(func=cmd_serve)

    key = sub.add_parser("key").add_subparsers(dest="key_command", required=True)
    p = key.add_parser("generate")
    p.add_argument("file")
    p.set_defaults(func=cmd_key_generate)

    secret = sub.add_parser("secret").add_subparsers(dest="secret_command", required=True)
    p = secret.add_parser("set")
    p.add_argument("nodes", nargs="*")
    p.add_argument("--all", action="store_true", help="every node")
    p.add_argument("--stdin", action="store_true", help="read the secret from standard input")
    p.set_defaults(func=cmd_secret_set)
    p = secret.add_parser("delete")
    p.add_argument("nodes", nargs="+")
    p.set_defaults(func=cmd_secret_delete)
    p = secret.add_parser("reseal")
    p.add_argument("--old-key-file", required=True)
    p.set_defaults(func=cmd_secret_reseal)

    p = sub.add_parser("demo-orders")
    p.add_argument("file", nargs="?", default=str(ROOT / "demo" / "orders.sql"))
    p.set_defaults(func=cmd_demo_orders)

    p = sub.add_parser("feed")
    p.add_argument("--url", required=True, help="the console, e.g. http://127.0.0.1:8080")
    p.add_argument("--secrets", required=True, help='file of "NODE SECRET" lines (secret set prints them)')
    p.add_argument("--interval", type=float, default=1.0, help="seconds between ticks")
    p.add_argument("--ticks", type=int, default=0, help="stop after this many ticks (0: run until stopped)")
    p.add_argument("--seed", type=int, default=None, help="random seed (a fixed one repeats the feed)")
    p.add_argument("--silent-node", default="", help="a node that goes silent")
    p.add_argument("--silent-after", type=int, default=20, help="ticks after which it goes silent")
    p.add_argument("--orders-every", type=int, default=5, help="allocate an order every N ticks (0: none)")
    p.set_defaults(func=cmd_feed)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return args.func(args)
    except sealing.SealingError as e:
        return fail(str(e))
    except psycopg2.Error as e:
        return fail(db.describe_error(e))


if __name__ == "__main__":
    sys.exit(main())
