"""The ops console: pages, interventions and the webhook intake (docs/console.md).

Settings (environment):
  CONSOLE_DATABASE_URL         libpq URL or connection string; empty: the PG* variables
  CONSOLE_INGEST_DATABASE_URL  connection for webhook batches; empty: CONSOLE_DATABASE_URL
  CONSOLE_KEY_FILE             the key node secrets are sealed with (webhook intake)
  CONSOLE_OPERATOR             the name interventions are recorded under (default: the OS user)
  CONSOLE_ORIGIN               the origin forms must come from (default: the request's own)
  CONSOLE_TIMEZONE             time zone of the times shown (default UTC)
  CONSOLE_COOKIE_SECURE        1: session cookie only over HTTPS (behind a TLS proxy)
"""
import getpass
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from urllib.parse import urlparse

import psycopg2
from flask import Flask, abort, flash, g, jsonify, redirect, render_template, request, session, url_for

from . import charts, db, queries, sealing

log = logging.getLogger("console")

# the feed-latency windows a node page offers: label -> (window, bucket)
WINDOWS = {"1h": ("1 hour", "1 minute"), "6h": ("6 hours", "5 minutes"),
           "24h": ("24 hours", "30 minutes"), "7d": ("7 days", "6 hours")}
# a webhook body may hold this many bytes per event stockroute.max_batch_events allows
EVENT_BYTES = 2048
FORM_BYTES = 64 * 1024
STATUSES = ("active", "draining", "offline")


def settings_from_env(env=None):
    env = os.environ if env is None else env
    return {
        "database_url": env.get("CONSOLE_DATABASE_URL", ""),
        "ingest_database_url": env.get("CONSOLE_INGEST_DATABASE_URL", ""),
        "key_file": env.get("CONSOLE_KEY_FILE", ""),
        "operator": env.get("CONSOLE_OPERATOR") or getpass.getuser(),
        "origin": env.get("CONSOLE_ORIGIN", "").rstrip("/"),
        "timezone": env.get("CONSOLE_TIMEZONE", "UTC"),
        "cookie_secure": env.get("CONSOLE_COOKIE_SECURE", "") in ("1", "true", "yes"),
        "threads": int(env.get("CONSOLE_THREADS", "8")),
    }


class WebhookError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(settings=None):
    cfg = settings_from_env()
    cfg.update(settings or {})
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.urandom(32),
        SESSION_COOKIE_NAME="stockroute_console",
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=cfg["cookie_secure"],
        TEMPLATES_AUTO_RELOAD=False,
    )
    # a request holds at most two connections at once (its page's, and an intervention's)
    pool = {"keep": min(cfg["threads"], 4), "maxconn": 2 * cfg["threads"] + 2, "timezone": cfg["timezone"]}
    database = db.Database(cfg["database_url"], **pool)
    ingest_db = db.Database(cfg["ingest_database_url"], **pool) if cfg["ingest_database_url"] else database
    key = sealing.load_key(cfg["key_file"]) if cfg["key_file"] else None
    console = app.extensions["stockroute_console"] = {"db": database, "ingest_db": ingest_db, "settings": cfg}

    limits_lock = threading.Lock()
    limits_cache = {"at": 0.0, "events": None}

    # ------------------------------------------------------------------ helpers

    def batch_limits():
        """(most events, most bytes) a webhook batch may have; re-read each minute."""
        with limits_lock:
            if limits_cache["events"] is None or time.monotonic() - limits_cache["at"] > 60:
                with database.connect() as conn:
                    db.value(conn, queries.LOAD_LIBRARY)
                    limits_cache["events"] = db.value(conn, queries.MAX_BATCH_EVENTS)
                limits_cache["at"] = time.monotonic()
            n = limits_cache["events"]
        return n, n * EVENT_BYTES

    console["batch_limits"] = batch_limits

    def conn():
        if "conn_cm" not in g:
            g.conn_cm = database.connect()
            g.conn = g.conn_cm.__enter__()
        return g.conn

    @app.teardown_request
    def release_connection(exc):
        cm = g.pop("conn_cm", None)
        if cm is not None:
            cm.__exit__(None, None, None)

    def whoami():
        if "who" not in g:
            g.who = db.row(conn(), queries.WHOAMI)
        return g.who

    def actor():
        return f"{cfg['operator']}@{request.remote_addr or '-'}"

    def csrf_token():
        token = session.get("csrf")
        if not token:
            token = secrets.token_urlsafe(32)
            session["csrf"] = token
        return token

    def expected_origin():
        return cfg["origin"] or request.host_url.rstrip("/")

    def check_form_post():
        """Refuse cross-site and forged form posts: Origin (or Referer) and the session's form token."""
        if (request.content_length or 0) > FORM_BYTES:
            abort(413, "form too large")
        allowed = expected_origin()
        origin = request.headers.get("Origin")
        referer = request.headers.get("Referer")
        if origin is not None:
            if origin != allowed:
                abort(403, f"cross-site request refused: Origin {origin} is not {allowed}")
        elif referer:
            if referer != allowed and not referer.startswith(allowed + "/"):
                abort(403, "cross-site request refused: it came from another site")
        else:
            abort(403, "request refused: it names no Origin or Referer")
        expected = session.get("csrf")
        given = request.form.get("csrf_token", "")
        if not expected or not hmac.compare_digest(given, expected):
            abort(403, "request refused: the form token is missing or stale; reload the page and try again")

    def back(default):
        target = request.form.get("next", "")
        parsed = urlparse(target)
        if target.startswith("/") and not target.startswith("//") and not parsed.netloc and not parsed.scheme:
            return redirect(target)
        return redirect(default)

    def record(c, action, args, ok, result=None, sqlstate=None, error=None):
        """Record an intervention on connection c, in its own transaction (committed here)."""
        try:
            with c.cursor() as cur:
                cur.execute(queries.RECORD, (action, db.Json(args), ok,
                                             db.Json(result) if result is not None else None,
                                             sqlstate, error[:4000] if error else None, actor()[:256]))
            c.commit()
        except psycopg2.Error as e:
            c.rollback()
            log.error("could not record intervention %s %s: %s", action, args, db.describe_error(e))

    def intervene(action, args):
        """Run one intervention as the console's role; record it; (ok, result or error text)."""
        sql, params = queries.ACTIONS[action]
        who = whoami()
        with database.connect() as c:
            if not who["admin"]:
                message = (f'read-only login: role "{who["role"]}" is not a member of stockroute_admin, '
                           f"which interventions need")
                record(c, action, args, False, sqlstate="42501", error=message)
                return False, message
            try:
                with c.cursor() as cur:
                    cur.execute(sql, tuple(args[p] for p in params))
                    result = cur.fetchone()[0]
                    cur.execute(queries.RECORD, (action, db.Json(args), True, db.Json(result), None, None,
                                                 actor()[:256]))
                c.commit()
            except psycopg2.Error as e:
                c.rollback()
                message = db.describe_error(e)
                log.info("intervention %s %s refused: %s", action, args, message)
                record(c, action, args, False, sqlstate=e.pgcode or "XX000", error=message)
                return False, message
        log.info("intervention %s %s by %s", action, args, actor())
        return True, result

    def form_value(name, required=True):
        v = request.form.get(name, "").strip()
        if required and not v:
            abort(400, f"{name} is required")
        return v

    # ------------------------------------------------------------------ templates

    app.jinja_env.globals.update(csrf_token=csrf_token, statuses=STATUSES, windows=WINDOWS,
                                 timezone=cfg["timezone"])

    @app.context_processor
    def inject_who():
        try:
            return {"who": whoami()}
        except psycopg2.Error:
            return {"who": None}

    @app.template_filter("ts")
    def fmt_ts(v):
        return v.strftime("%Y-%m-%d %H:%M:%S") if v else "-"

    @app.template_filter("dur")
    def fmt_duration(v):
        if v is None:
            return "-"
        s = v.total_seconds() if hasattr(v, "total_seconds") else float(v)
        sign = "-" if s < 0 else ""
        s = abs(s)
        if s < 1:
            return f"{sign}{s * 1000:.0f} ms"
        if s < 120:
            return f"{sign}{s:.1f} s"
        if s < 7200:
            return f"{sign}{s / 60:.0f} min"
        if s < 172800:
            return f"{sign}{s / 3600:.1f} h"
        return f"{sign}{s / 86400:.1f} d"

    @app.template_filter("secs")
    def fmt_secs(v):
        return "-" if v is None else fmt_duration(float(v))

    @app.template_filter("num")
    def fmt_num(v, digits=0):
        if v is None:
            return "-"
        return f"{v:,.{digits}f}"

    @app.template_filter("pct")
    def fmt_pct(v):
        return "-" if v is None else f"{float(v) * 100:.1f}%"

    @app.template_filter("compact")
    def fmt_json(v):
        return "" if v is None else json.dumps(v, sort_keys=True, separators=(", ", ": "), default=str)

    @app.after_request
    def security_headers(resp):
        resp.headers.setdefault("Content-Security-Policy",
                                "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @app.errorhandler(psycopg2.Error)
    def database_error(e):
        message = db.describe_error(e)
        log.warning("database error on %s: %s", request.path, message)
        if request.path.startswith("/api/"):
            return jsonify(error=message), 500
        return render_template("error.html", status=500, message=message), 500

    @app.errorhandler(400)
    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(405)
    @app.errorhandler(413)
    def http_error(e):
        if request.path.startswith("/api/"):
            return jsonify(error=e.description), e.code
        return render_template("error.html", status=e.code, message=e.description), e.code

    # ------------------------------------------------------------------ pages

    @app.get("/healthz")
    def healthz():
        who = whoami()
        return jsonify(ok=True, database=who["database"], role=who["role"], admin=who["admin"],
                       webhook=key is not None)

    @app.get("/")
    def overview():
        c = conn()
        nodes = db.rows(c, queries.NODES)
        return render_template(
            "overview.html",
            nodes=nodes,
            chart=charts.stock_by_node(nodes),
            alerts_by_kind=db.rows(c, queries.ALERTS_BY_KIND),
            alerts=db.rows(c, queries.ALERTS, {"resolved_within": "0", "node_id": None, "limit": 50,
                                               "kinds": ["drift", "shortfall", "stale_node", "sync_gap"]}),
            stale=[n for n in nodes if n["stale"] or n["silent_past_stale_after"]],
            drift=db.rows(c, queries.ALERTS, {"resolved_within": "1 day", "node_id": None, "limit": 200,
                                              "kinds": ["drift"]}),
            last_run=db.row(c, queries.LAST_RUN),
            backorders=db.row(c, queries.BACKORDER_TOTALS))

    @app.get("/nodes/<node_id>")
    def node(node_id):
        c = conn()
        n = db.row(c, queries.NODE, {"node_id": node_id})
        if n is None:
            abort(404, f'node "{node_id}" does not exist')
        window = request.args.get("window", "1h")
        if window not in WINDOWS:
            abort(400, f"window must be one of {', '.join(WINDOWS)}")
        span, bucket = WINDOWS[window]
        args = {"node_id": node_id, "window": span, "bucket": bucket, "limit": 25,
                "resolved_within": "1 day", "kinds": None}
        points = db.rows(c, queries.NODE_LATENCY, args)
        return render_template(
            "node.html", n=n, window=window,
            latency_chart=charts.latency_over_time(points, span),
            totals=db.row(c, queries.NODE_EVENT_TOTALS, args),
            stock=db.rows(c, queries.NODE_STOCK, args),
            events=db.rows(c, queries.NODE_EVENTS, args),
            history=db.rows(c, queries.NODE_STATUS_HISTORY, args),
            alerts=db.rows(c, queries.ALERTS, {**args, "limit": 50}),
            secret=db.row(c, queries.NODE_SECRET, args))

    @app.get("/reconciliation")
    def reconciliation():
        c = conn()
        return render_template(
            "reconciliation.html",
            runs=db.rows(c, queries.RUNS, {"limit": 20}),
            discrepancies=db.rows(c, queries.DISCREPANCIES),
            reroutes=db.rows(c, queries.REROUTES),
            backorders=db.row(c, queries.BACKORDER_TOTALS))

    @app.get("/orders")
    def orders():
        wanted = request.args.get("order_ref", "").strip()
        if wanted:
            return redirect(url_for("order", order_ref=wanted))
        return render_template("orders.html", orders=db.rows(conn(), queries.ORDERS, {"limit": 200}))

    @app.get("/orders/<path:order_ref>")
    def order(order_ref):
        c = conn()
        args = {"order_ref": order_ref}
        decisions = db.rows(c, queries.ORDER_DECISIONS, args)
        reservations = db.rows(c, queries.ORDER_RESERVATIONS, args)
        if not decisions and not reservations:
            abort(404, f'no order "{order_ref}": it has no decision and no reservation')
        allocation = next((d for d in reversed(decisions) if d["kind"] == "allocate"), None)
        plan = allocation["output"] if allocation else None
        explained = db.value(c, queries.EXPLAIN, (json.dumps(plan),)) if plan else None
        active_nodes = sorted({r["node_id"] for r in reservations if r["status"] in ("held", "committed")})
        return render_template(
            "order.html", order_ref=order_ref, allocation=allocation, plan=plan, explained=explained,
            decisions=decisions, reservations=reservations, active_nodes=active_nodes,
            backorders=db.rows(c, queries.ORDER_BACKORDERS, args),
            exclusions=db.rows(c, queries.ORDER_EXCLUSIONS, args))

    @app.get("/backorders")
    def backorders():
        c = conn()
        return render_template("backorders.html", backorders=db.rows(c, queries.BACKORDERS, {"limit": 500}),
                               totals=db.row(c, queries.BACKORDER_TOTALS))

    @app.get("/alerts")
    def alerts():
        return render_template("alerts.html", alerts=db.rows(
            conn(), queries.ALERTS, {"resolved_within": "1 day", "node_id": None, "limit": 500, "kinds": None}))

    @app.get("/interventions")
    def interventions():
        return render_template("interventions.html",
                               interventions=db.rows(conn(), queries.INTERVENTIONS, {"limit": 200}))

    # ------------------------------------------------------------------ interventions

    def report(ok, message):
        flash(message, "ok" if ok else "error")

    @app.post("/nodes/<node_id>/status")
    def set_node_status(node_id):
        check_form_post()
        args = {"node_id": node_id, "status": form_value("status"), "reason": form_value("reason")}
        ok, result = intervene("set_node_status", args)
        if ok:
            report(True, f'{node_id} is now {result["status"]}' if result["changed"]
                   else f'{node_id} was already {result["status"]}: nothing changed')
        else:
            report(False, result)
        return back(url_for("node", node_id=node_id))

    @app.post("/orders/<path:order_ref>/commit")
    def commit(order_ref):
        check_form_post()
        ok, result = intervene("commit", {"order_ref": order_ref})
        report(ok, f'{order_ref}: {result["committed"]} reservation(s) committed' if ok else result)
        return back(url_for("order", order_ref=order_ref))

    @app.post("/orders/<path:order_ref>/release")
    def release(order_ref):
        check_form_post()
        ok, result = intervene("release", {"order_ref": order_ref})
        report(ok, f'{order_ref}: {result["released"]} reservation(s) released, {result["units"]} units'
               if ok else result)
        return back(url_for("order", order_ref=order_ref))

    @app.post("/orders/<path:order_ref>/reject")
    def reject(order_ref):
        check_form_post()
        args = {"order_ref": order_ref, "node_id": form_value("node_id"), "reason": form_value("reason")}
        ok, result = intervene("reject", args)
        if ok:
            placed = ", ".join(f'{s["node_id"]} {sum(l["qty"] for l in s["lines"])}'
                               for s in result.get("shipments") or [])
            report(True, f'{order_ref}: {args["node_id"]} rejected its part; routed again: '
                         f'{result.get("status")}' + (f" ({placed})" if placed else ""))
        else:
            report(False, result)
        return back(url_for("order", order_ref=order_ref))

    @app.post("/reconciliation/run")
    def run_reconcile():
        check_form_post()
        ok, result = intervene("reconcile", {})
        if ok and result.get("skipped"):
            report(True, "another reconcile() run was in progress: this one was skipped")
        elif ok:
            report(True, "reconcile run {run_id}: {expired} expired, {drift} drift, {stale} stale, "
                         "{shortfall} short, {rerouted_units} units re-routed, {backordered_units} backordered, "
                         "{low_stock} low stock".format(**result))
        else:
            report(False, result)
        return back(url_for("reconciliation"))

    @app.post("/alerts/<alert_id>/ack")
    def acknowledge(alert_id):
        check_form_post()
        args = {"alert_id": alert_id, "note": request.form.get("note", "").strip() or None}
        ok, result = intervene("acknowledge_alert", args)
        if ok:
            report(True, f'{result["kind"]} alert{" for " + result["node_id"] if result["node_id"] else ""} '
                         f'acknowledged by {result["acknowledged_by"]}'
                         + (" (already)" if result["already_acknowledged"] else ""))
        else:
            report(False, result)
        return back(url_for("alerts"))

    # ------------------------------------------------------------------ webhook

    def webhook_body(max_bytes):
        length = request.content_length
        if length is not None and length > max_bytes:
            raise WebhookError(413, f"body of {length} bytes is over the limit of {max_bytes}")
        body = request.stream.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise WebhookError(413, f"body is over the limit of {max_bytes} bytes")
        return body

    def verify_signature(node_id, signature, body):
        if not node_id or not signature:
            raise WebhookError(401, "X-Stockroute-Node and X-Stockroute-Signature are required")
        if not signature.startswith("sha256="):
            raise WebhookError(401, "X-Stockroute-Signature must be sha256=<hex>")
        with database.connect() as c:
            found = db.row(c, queries.SECRET_FOR_WEBHOOK, (node_id,))
        if found is None:
            log.warning("webhook: no secret for node %r", node_id[:64])
            raise WebhookError(401, "invalid signature")
        if found["key_id"] != sealing.key_id(key):
            log.error("webhook: the secret of node %r was sealed under key %s, the key file is %s",
                      node_id, found["key_id"], sealing.key_id(key))
            raise WebhookError(500, "the node's secret was sealed under another key")
        secret = sealing.unseal(key, node_id, found["sealed"])
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature[len("sha256="):].lower(), expected):
            log.warning("webhook: bad signature for node %r", node_id[:64])
            raise WebhookError(401, "invalid signature")

    def parse_events(node_id, body, max_events):
        try:
            text = body.decode("utf-8")
            events = json.loads(text, parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError) as e:
            raise WebhookError(400, f"malformed JSON: {e}") from None
        if not isinstance(events, list):
            raise WebhookError(400, "the body must be a JSON array of events")
        if len(events) > max_events:
            raise WebhookError(413, f"{len(events)} events is over stockroute.max_batch_events ({max_events})")
        for i, e in enumerate(events):
            if isinstance(e, dict) and "node_id" in e and e["node_id"] != node_id:
                raise WebhookError(403, f"events[{i}] names node {json.dumps(e['node_id'])[:80]}, "
                                        f"not the signing node {json.dumps(node_id)}")
        return text

    @app.post("/api/events")
    def api_events():
        node_id = request.headers.get("X-Stockroute-Node", "")
        try:
            if key is None:
                raise WebhookError(503, "webhook intake is not configured: the console has no CONSOLE_KEY_FILE")
            max_events, max_bytes = batch_limits()
            body = webhook_body(max_bytes)
            verify_signature(node_id, request.headers.get("X-Stockroute-Signature", ""), body)
            text = parse_events(node_id, body, max_events)
            with ingest_db.connect() as c:
                try:
                    result = db.value(c, queries.INGEST, (text,))
                    c.commit()
                except psycopg2.Error as e:
                    c.rollback()
                    code = e.pgcode or ""
                    status = (413 if code == "54000" else 403 if code == "42501"
                              else 400 if code.startswith("22") else 500)
                    raise WebhookError(status, db.describe_error(e)) from None
        except sealing.SealingError as e:
            log.error("webhook: %s", e)
            return jsonify(error=str(e)), 500
        except WebhookError as e:
            return jsonify(error=e.message), e.status
        log.info("webhook: node %s: %s applied, %s duplicate, %s superseded, %s rejected", node_id,
                 result["applied"], result["duplicate"], result["superseded"], result["rejected"])
        return jsonify(result)

    return app


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")
