#!/usr/bin/env python3
"""The ops console in a real browser (headless Chromium, driven by Selenium), and its webhook.

Proves, against a database of the server in PG* that holds the demo network with the demo's
orders allocated (as make console sets it up):
  - the overview renders every node of the demo, the stock chart and the open alerts;
  - /orders/SO-1001 shows VALVE-9 split A 8 + B 12 with its ETAs, C weighed and not chosen,
    the held reservations;
  - setting node A offline in the console records who, why and when, and the next plan()
    skips A; setting it active again brings it back;
  - a node silent past a short stale_after gets a stale_node alert once "Run reconcile now"
    runs reconcile(), shown on the overview; acknowledging it records who did;
  - commit, release and a node's rejection through the console change the reservations as
    the extension's functions do, and every intervention is recorded;
  - a read-only login (stockroute_app only) sees the pages, but its interventions are refused
    with a clear message, recorded as refused, and change nothing;
  - forms refuse cross-site posts (a foreign Origin, no Origin or Referer, no form token);
    the session cookie is SameSite=Strict and HttpOnly;
  - the webhook applies a good signed batch and answers ingest()'s results (a resend is all
    duplicates); a missing or bad signature or an unknown node gets 401, malformed JSON 400,
    more events than stockroute.max_batch_events or more bytes than the limit 413, an event
    of another node 403, each with nothing applied;
  - node secrets are sealed: neither the table nor pg_dump holds one; a rotated secret
    replaces the old one at once;
  - backorders are listed with the promise dates the database computed;
  - the demo feed's signed batches go through the webhook: events applied, duplicates
    recognised, orders allocated.
Ends with a line "browser: N passed, N failed".
"""
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import psycopg2
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from console import feed as feedmod  # noqa: E402
from console import sealing  # noqa: E402

PYTHON = sys.executable
DB = "stockroute_console_test"
ROLES = ("console_test_ops", "console_test_viewer")
DEMO_NOW = "2026-11-23 09:00:00+00"
S = {}   # the fixture: servers, browser, secrets, ...


def pg(dbname="postgres", **kw):
    conn = psycopg2.connect(dbname=dbname, **kw)
    conn.autocommit = True
    return conn


def sql(query, params=()):
    """Run one statement as the test's superuser in the test database; its rows."""
    with S["db"].cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall() if cur.description else []


def one(query, params=()):
    found = sql(query, params)
    return found[0][0] if found else None


def dsn(role):
    return (f"host={os.environ.get('PGHOST', 'localhost')} port={os.environ.get('PGPORT', '5432')} "
            f"dbname={DB} user={role} password={S['passwords'][role]}")


def console_env(role, **extra):
    env = dict(os.environ, CONSOLE_DATABASE_URL=dsn(role), CONSOLE_OPERATOR="browser-test", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def start_server(role, key_file):
    log = open(S["tmp"] / f"{role}.log", "w")
    proc = subprocess.Popen([PYTHON, "-m", "console", "serve"], cwd=ROOT, stdout=subprocess.PIPE, stderr=log,
                            text=True, env=console_env(role, CONSOLE_PORT="0", CONSOLE_KEY_FILE=key_file))
    S["procs"].append(proc)
    line = proc.stdout.readline()
    m = re.match(r"console: serving (http://\S+?)/? ", line)
    if not m:
        proc.wait(timeout=10)
        raise RuntimeError(f"the console as {role} did not start: {line}{(S['tmp'] / f'{role}.log').read_text()}")
    return m.group(1)


def setUpModule():
    S["tmp"] = Path(tempfile.mkdtemp(prefix="console-test-"))
    S["procs"] = []
    admin = pg()
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB}")
        cur.execute(f"CREATE DATABASE {DB}")
        S["passwords"] = {r: secrets.token_hex(12) for r in ROLES}
        for r in ROLES:
            cur.execute(f"DROP ROLE IF EXISTS {r}")
    admin.close()
    S["db"] = pg(DB)
    sql("CREATE EXTENSION stockroute")
    env = dict(os.environ, PGDATABASE=DB, PYTHONPATH=str(ROOT))
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "demo/network.sql"], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([PYTHON, "-m", "console", "demo-orders"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    sql("CREATE ROLE console_test_ops LOGIN PASSWORD %s IN ROLE stockroute_admin, stockroute_app",
        (S["passwords"]["console_test_ops"],))
    sql("CREATE ROLE console_test_viewer LOGIN PASSWORD %s IN ROLE stockroute_app",
        (S["passwords"]["console_test_viewer"],))
    key_file = str(S["tmp"] / "key")
    sealing.generate_key_file(key_file)
    out = subprocess.run([PYTHON, "-m", "console", "secret", "set", "--all"], cwd=ROOT, check=True,
                         capture_output=True, text=True, env=console_env("console_test_ops", CONSOLE_KEY_FILE=key_file))
    S["secrets"] = dict(line.split() for line in out.stdout.splitlines())
    S["key_file"] = key_file
    S["ops"] = start_server("console_test_ops", key_file)
    S["viewer"] = start_server("console_test_viewer", key_file)
    opts = webdriver.ChromeOptions()
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--window-size=1400,1000"):
        opts.add_argument(a)
    opts.add_argument(f"--user-data-dir={S['tmp'] / 'chromium'}")
    opts.binary_location = "/usr/bin/chromium"
    S["browser"] = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def tearDownModule():
    if "browser" in S:
        S["browser"].quit()
    for p in S.get("procs", []):
        p.terminate()
        p.wait(timeout=10)
    if "db" in S:
        S["db"].close()
        admin = pg()
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {DB}")
            for r in ROLES:
                cur.execute(f"DROP ROLE IF EXISTS {r}")
        admin.close()
    shutil.rmtree(S["tmp"], ignore_errors=True)


# -- helpers -----------------------------------------------------------------------------

def browse(path, server="ops"):
    d = S["browser"]
    d.get(S[server] + path)
    return d


def detached(element):
    """A wait condition: element has left the document (its page was replaced).

    Chromium reports a node of a replaced document either as a stale element or, while the
    new document loads, as an inspector error saying the node does not belong to it; any
    other error means the old page may still be there, so the wait goes on."""
    def check(driver):
        try:
            element.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as e:
            return "does not belong to the document" in str(e)
    return check


def submit(form_id=None, button=None):
    """Submit a form in the page and wait for the page it leads to; the message shown there."""
    d = S["browser"]
    button = button or d.find_element(By.CSS_SELECTOR, f"#{form_id} button[type=submit]")
    button.click()
    WebDriverWait(d, 20).until(detached(button))
    return WebDriverWait(d, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".flash")))


def signed(node, body, secret=None):
    secret = S["secrets"][node] if secret is None else secret
    return {"X-Stockroute-Node": node, "X-Stockroute-Signature": feedmod.sign(secret, body)}


def webhook(body, headers):
    req = urllib.request.Request(S["ops"] + "/api/events", data=body, method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def event(node, key, sku, qty, kind="receipt"):
    return {"node_id": node, "idempotency_key": key, "kind": kind, "sku": sku, "qty": qty,
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))}


def allocate(doc):
    with S["db"].cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SELECT pg_catalog.set_config('stockroute.now', %s, true)", (DEMO_NOW,))
        cur.execute("SELECT stockroute.allocate(%s::jsonb)", (json.dumps(doc),))
        plan = cur.fetchone()[0]
        cur.execute("COMMIT")
    return plan


def events_count():
    return one("SELECT count(*) FROM stockroute.event")


class Console(unittest.TestCase):
    maxDiff = None

    # -- pages ---------------------------------------------------------------------------

    def test_overview_renders_the_demo_nodes(self):
        d = browse("/")
        shown = {tr.get_attribute("data-node") for tr in d.find_elements(By.CSS_SELECTOR, "#nodes tbody tr")}
        self.assertEqual(shown, {r[0] for r in sql("SELECT node_id FROM stockroute.node")})
        self.assertEqual(len(shown), 14)
        chart = d.find_element(By.CSS_SELECTOR, "svg.chart")
        self.assertGreater(len(chart.find_elements(By.CSS_SELECTOR, "rect.seg-available")), 10)
        self.assertIn("MEM-3PL", chart.text)
        self.assertIn("draining", d.find_element(By.CSS_SELECTOR, "#nodes tr[data-node='MEM-3PL']").text)
        self.assertEqual(d.find_element(By.CSS_SELECTOR, "#who .badge").text, "admin")

    def test_order_so1001_splits_valve9_a8_b12(self):
        d = browse("/orders/SO-1001")
        ships = [(tr.get_attribute("data-node"), tr.get_attribute("data-sku"), tr.get_attribute("data-qty"))
                 for tr in d.find_elements(By.CSS_SELECTOR, "#shipments tr.shipment")]
        self.assertEqual(ships, [("A", "VALVE-9", "8"), ("B", "VALVE-9", "12")])
        etas = [td.text for td in d.find_elements(By.CSS_SELECTOR, "#shipments td.eta")]
        self.assertEqual(etas, ["2026-11-24", "2026-11-25"])
        c = d.find_element(By.CSS_SELECTOR, "#candidates tr[data-node='C']")
        self.assertNotIn("chosen", c.get_attribute("class").split())
        self.assertIn("not chosen", c.find_element(By.CSS_SELECTOR, ".reason").text)
        for node in ("A", "B"):
            self.assertIn("chosen", d.find_element(By.CSS_SELECTOR, f"#candidates tr[data-node='{node}']")
                          .get_attribute("class").split())
        reservations = sorted((tr.get_attribute("data-node"), tr.get_attribute("data-status"))
                              for tr in d.find_elements(By.CSS_SELECTOR, "#reservations tr.reservation"))
        self.assertEqual(reservations, [("A", "held"), ("B", "held")])
        self.assertIn("Plan for order SO-1001", d.find_element(By.ID, "explain").get_attribute("textContent"))

    def test_backorders_show_promise_dates(self):
        sql("INSERT INTO stockroute.supply (node_id, sku, qty, expected_on, ref) "
            "VALUES ('A', 'VALVE-101', 40, current_date + 9, 'PO-TEST-1')")
        promised = one("SELECT promised_on FROM stockroute.backorder WHERE order_ref = 'SO-1004' AND status = 'open'")
        self.assertIsNotNone(promised)
        d = browse("/backorders")
        row = d.find_element(By.CSS_SELECTOR, "#backorders tr[data-order='SO-1004']")
        self.assertEqual(row.find_element(By.CSS_SELECTOR, ".promised").text, promised.isoformat())
        self.assertIn("VALVE-101", row.text)

    # -- interventions -------------------------------------------------------------------

    def test_offline_node_is_skipped_by_the_next_plan(self):
        sku = one("SELECT s.sku FROM stockroute.stock s JOIN stockroute.item i USING (sku) "
                  "WHERE s.node_id = 'A' AND i.tags = '{}' AND s.sku <> 'VALVE-9' ORDER BY s.available DESC, s.sku LIMIT 1")

        def plan(ref):
            doc = {"order_ref": ref, "ship_to": {"lat": 33.75, "lon": -84.39, "country": "US", "region": "GA",
                                                 "postal_code": "30301"},
                   "lines": [{"line_ref": "1", "sku": sku, "qty": 1}]}
            with S["db"].cursor() as cur:
                cur.execute("SELECT stockroute.plan(%s::jsonb)", (json.dumps(doc),))
                p = cur.fetchone()[0]
            return [s["node_id"] for s in p["shipments"]], next(c for c in p["explain"]["candidates"]
                                                                if c["node_id"] == "A")

        self.assertEqual(plan("SO-TEST-ONLINE")[0], ["A"])      # Atlanta ships to Atlanta
        d = browse("/nodes/A")
        Select(d.find_element(By.CSS_SELECTOR, "#status-form select[name=status]")).select_by_value("offline")
        d.find_element(By.CSS_SELECTOR, "#status-form input[name=reason]").send_keys("dock flooded")
        self.assertEqual(submit("status-form").text, "A is now offline")
        self.assertEqual(one("SELECT status FROM stockroute.node WHERE node_id = 'A'"), "offline")
        self.assertEqual(sql("SELECT old_status, new_status, reason, changed_by FROM stockroute.node_status_change "
                             "WHERE node_id = 'A' ORDER BY changed_at DESC LIMIT 1"),
                         [("active", "offline", "dock flooded", "console_test_ops")])
        self.assertIn("dock flooded", d.find_element(By.ID, "status-history").text)

        ships, a = plan("SO-TEST-OFFLINE")
        self.assertNotIn("A", ships)
        self.assertTrue(ships)
        self.assertFalse(a["eligible"])
        self.assertIn("offline", a["reason"])

        d = browse("/interventions")
        row = d.find_element(By.CSS_SELECTOR, "#interventions tr[data-action='set_node_status']")
        self.assertIn("console_test_ops", row.text)
        self.assertIn("browser-test@127.0.0.1", row.text)

        d = browse("/nodes/A")
        Select(d.find_element(By.CSS_SELECTOR, "#status-form select[name=status]")).select_by_value("active")
        d.find_element(By.CSS_SELECTOR, "#status-form input[name=reason]").send_keys("dock dry")
        self.assertEqual(submit("status-form").text, "A is now active")
        self.assertEqual(plan("SO-TEST-ONLINE-AGAIN")[0], ["A"])

    def test_silent_node_raises_stale_node_alert_on_reconcile(self):
        node = "DEN-PTR"
        sku = one("SELECT sku FROM stockroute.stock WHERE node_id = %s ORDER BY sku LIMIT 1", (node,))
        body = json.dumps([event(node, "stale-1", sku, 3)]).encode()
        status, reply = webhook(body, signed(node, body))
        self.assertEqual((status, reply["applied"]), (200, 1))
        # silent past a short stale_after: wait until the database's clock says so
        sql("UPDATE stockroute.node SET stale_after = '1 second' WHERE node_id = %s", (node,))
        deadline = time.monotonic() + 60
        while not one("SELECT now() - last_event_at > stale_after FROM stockroute.node WHERE node_id = %s", (node,)):
            self.assertLess(time.monotonic(), deadline, "the node never fell silent")
            time.sleep(0.2)
        browse("/reconciliation")
        self.assertRegex(submit("reconcile-form").text, r"^reconcile run \d+: .* [1-9]\d* stale,")
        d = S["browser"]
        self.assertTrue(d.find_elements(By.CSS_SELECTOR, f"#discrepancies tr[data-kind='stale_node'][data-node='{node}']"))
        self.assertTrue(d.find_elements(By.CSS_SELECTOR, "#runs tbody tr"))

        d = browse("/")
        self.assertIn(node, d.find_element(By.ID, "tile-stale").text)
        row = d.find_element(By.CSS_SELECTOR, f"table.alerts tr[data-kind='stale_node'][data-node='{node}']")
        row.find_element(By.CSS_SELECTOR, "input[name=note]").send_keys("calling the partner")
        message = submit(button=row.find_element(By.CSS_SELECTOR, "button[type=submit]"))
        self.assertEqual(message.text, f"stale_node alert for {node} acknowledged by console_test_ops")
        self.assertEqual(sql("SELECT k.acknowledged_by, k.note FROM stockroute.alert_ack k "
                             "JOIN stockroute.alert a USING (alert_id) WHERE a.kind = 'stale_node' AND a.node_id = %s",
                             (node,)), [("console_test_ops", "calling the partner")])
        sql("UPDATE stockroute.node SET stale_after = '1 day' WHERE node_id = %s", (node,))

    def test_commit_and_reject_through_the_console(self):
        doc = {"order_ref": "SO-TEST-REJECT", "ship_to": {"lat": 41.88, "lon": -87.63, "country": "US",
                                                          "region": "IL", "postal_code": "60601"},
               "lines": [{"line_ref": "1", "sku": "BEARING-105", "qty": 10}]}
        plan = allocate(doc)
        first = plan["shipments"][0]["node_id"]
        browse("/orders/SO-TEST-REJECT")
        self.assertEqual(submit("commit-form").text, "SO-TEST-REJECT: 1 reservation(s) committed")
        self.assertEqual(sql("SELECT node_id, status FROM stockroute.reservation WHERE order_ref = 'SO-TEST-REJECT'"),
                         [(first, "committed")])
        d = S["browser"]
        Select(d.find_element(By.CSS_SELECTOR, "#reject-form select[name=node_id]")).select_by_value(first)
        d.find_element(By.CSS_SELECTOR, "#reject-form input[name=reason]").send_keys("cannot find the bin")
        self.assertRegex(submit("reject-form").text,
                         rf"^SO-TEST-REJECT: {first} rejected its part; routed again: complete \(\S+ 10\)$")
        rows = sql("SELECT node_id, status FROM stockroute.reservation WHERE order_ref = 'SO-TEST-REJECT' "
                   "ORDER BY created_at")
        self.assertEqual(rows[0], (first, "released"))
        self.assertEqual([s for n, s in rows[1:]], ["committed"])
        self.assertNotEqual(rows[1][0], first)
        self.assertEqual(one("SELECT reason FROM stockroute.order_exclusion WHERE order_ref = 'SO-TEST-REJECT'"),
                         "cannot find the bin")
        self.assertEqual(sql("SELECT action, ok FROM stockroute.intervention WHERE args->>'order_ref' = 'SO-TEST-REJECT' "
                             "ORDER BY recorded_at"), [("commit", True), ("reject", True)])

    def test_release_through_the_console(self):
        doc = {"order_ref": "SO-TEST-RELEASE", "ship_to": {"lat": 32.78, "lon": -96.80, "country": "US"},
               "lines": [{"line_ref": "1", "sku": "FILTER-124", "qty": 3}]}
        allocate(doc)
        browse("/orders/SO-TEST-RELEASE")
        self.assertRegex(submit("release-form").text, r"^SO-TEST-RELEASE: 1 reservation\(s\) released, 3 units$")
        self.assertEqual(sql("SELECT status FROM stockroute.reservation WHERE order_ref = 'SO-TEST-RELEASE'"),
                         [("released",)])

    def test_read_only_login_is_refused(self):
        d = browse("/", "viewer")
        self.assertEqual(d.find_element(By.ID, "read-only").text, "read-only")
        self.assertEqual(len(d.find_elements(By.CSS_SELECTOR, "#nodes tbody tr")), 14)
        d = browse("/nodes/B", "viewer")
        Select(d.find_element(By.CSS_SELECTOR, "#status-form select[name=status]")).select_by_value("offline")
        d.find_element(By.CSS_SELECTOR, "#status-form input[name=reason]").send_keys("not allowed")
        message = submit("status-form")
        self.assertIn("error", message.get_attribute("class").split())
        self.assertEqual(message.text, 'read-only login: role "console_test_viewer" is not a member of '
                                       'stockroute_admin, which interventions need')
        self.assertEqual(one("SELECT status FROM stockroute.node WHERE node_id = 'B'"), "active")
        self.assertEqual(sql("SELECT ok, sqlstate, db_role FROM stockroute.intervention "
                             "WHERE action = 'set_node_status' AND db_role = 'console_test_viewer'"),
                         [(False, "42501", "console_test_viewer")])
        browse("/reconciliation", "viewer")
        self.assertIn("read-only login", submit("reconcile-form").text)

    def test_forms_refuse_cross_site_posts(self):
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(S["ops"] + "/nodes/B") as resp:
            page = resp.read().decode()
            cookie = resp.headers["Set-Cookie"]
        self.assertIn("SameSite=Strict", cookie)
        self.assertIn("HttpOnly", cookie)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

        def post(fields, headers):
            req = urllib.request.Request(S["ops"] + "/nodes/B/status", method="POST", headers=headers,
                                         data=urllib.parse.urlencode(fields).encode())
            try:
                with opener.open(req) as resp:
                    return resp.status, resp.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()

        fields = {"csrf_token": token, "status": "offline", "reason": "forged"}
        status, body = post(fields, {"Origin": "http://evil.example"})
        self.assertEqual(status, 403)
        self.assertIn("cross-site request refused", body)
        status, body = post({**fields, "csrf_token": "x"}, {"Origin": S["ops"]})
        self.assertEqual(status, 403)
        self.assertIn("form token", body)
        status, body = post(fields, {})
        self.assertEqual(status, 403)
        self.assertIn("no Origin or Referer", body)
        self.assertEqual(one("SELECT status FROM stockroute.node WHERE node_id = 'B'"), "active")
        # the same form from the console itself goes through
        status, body = post({**fields, "status": "active"}, {"Origin": S["ops"]})
        self.assertEqual(status, 200)
        self.assertIn("B was already active: nothing changed", body)

    # -- webhook -------------------------------------------------------------------------

    def test_webhook_applies_a_signed_batch(self):
        sku = one("SELECT sku FROM stockroute.stock WHERE node_id = 'C' AND sku <> 'VALVE-9' ORDER BY sku LIMIT 1")
        before = one("SELECT on_hand FROM stockroute.stock WHERE node_id = 'C' AND sku = %s", (sku,))
        body = json.dumps([event("C", "wh-1", sku, 7), event("C", "wh-2", sku, 2, "sale"),
                           {"node_id": "C", "kind": "receipt"}]).encode()
        status, reply = webhook(body, signed("C", body))
        self.assertEqual(status, 200)
        self.assertEqual((reply["applied"], reply["duplicate"], reply["rejected"]), (2, 0, 1))
        self.assertEqual([r["status"] for r in reply["results"]], ["applied", "applied", "rejected"])
        self.assertEqual(one("SELECT on_hand FROM stockroute.stock WHERE node_id = 'C' AND sku = %s", (sku,)),
                         before + 5)
        status, reply = webhook(body, signed("C", body))
        self.assertEqual((status, reply["applied"], reply["duplicate"]), (200, 0, 2))
        self.assertEqual(one("SELECT on_hand FROM stockroute.stock WHERE node_id = 'C' AND sku = %s", (sku,)),
                         before + 5)

    def test_webhook_refuses_bad_signatures(self):
        body = json.dumps([event("C", "bad-1", "VALVE-9", 1)]).encode()
        before = events_count()
        good = signed("C", body)
        cases = {
            "no signature": {"X-Stockroute-Node": "C"},
            "no node": {"X-Stockroute-Signature": good["X-Stockroute-Signature"]},
            "another node's secret": signed("C", body, S["secrets"]["B"]),
            "another body": {**good, "X-Stockroute-Signature": feedmod.sign(S["secrets"]["C"], body + b" ")},
            "not sha256": {**good, "X-Stockroute-Signature": good["X-Stockroute-Signature"].replace("sha256=", "md5=")},
            "unknown node": {**signed("C", body), "X-Stockroute-Node": "NOPE"},
        }
        for name, headers in cases.items():
            with self.subTest(name):
                status, reply = webhook(body, headers)
                self.assertEqual(status, 401)
                self.assertIn("error", reply)
        self.assertEqual(events_count(), before)

    def test_webhook_refuses_malformed_json(self):
        before = events_count()
        for name, body in {"not JSON": b'[{"node_id": "C",', "an object": b'{"node_id": "C"}',
                           "not UTF-8": b'["\xff"]', "NaN": b"[NaN]", "not objects": b"[5]"}.items():
            with self.subTest(name):
                status, reply = webhook(body, signed("C", body))
                self.assertEqual(status, 400, reply)
        self.assertEqual(events_count(), before)

    def test_webhook_refuses_batches_over_the_limit(self):
        before = events_count()
        one("SELECT stockroute.routing_now()")      # loads the library, which defines the setting
        limit = int(one("SELECT current_setting('stockroute.max_batch_events')"))
        body = json.dumps([{"node_id": "C"}] * (limit + 1)).encode()
        status, reply = webhook(body, signed("C", body))
        self.assertEqual(status, 413)
        self.assertIn("max_batch_events", reply["error"])
        body = b"[" + b" " * (limit * 2048) + b"]"
        status, reply = webhook(body, {"X-Stockroute-Node": "C", "X-Stockroute-Signature": "sha256=00"})
        self.assertEqual(status, 413)
        self.assertIn("over the limit", reply["error"])
        self.assertEqual(events_count(), before)

    def test_webhook_refuses_events_of_another_node(self):
        before = events_count()
        body = json.dumps([event("C", "other-1", "VALVE-9", 1), event("A", "other-2", "VALVE-9", 1)]).encode()
        status, reply = webhook(body, signed("C", body))
        self.assertEqual(status, 403)
        self.assertEqual(reply["error"], 'events[1] names node "A", not the signing node "C"')
        self.assertEqual(events_count(), before)

    def test_secrets_are_sealed_and_rotate(self):
        secret = S["secrets"]["SEA-3PL"]
        sealed = bytes(one("SELECT sealed FROM stockroute.node_secret WHERE node_id = 'SEA-3PL'"))
        self.assertNotIn(secret.encode(), sealed)
        dump = subprocess.run(["pg_dump", "-d", DB], capture_output=True, check=True).stdout
        self.assertIn(b"COPY stockroute.node_secret", dump)
        for s in S["secrets"].values():
            self.assertNotIn(s.encode(), dump)
        d = browse("/nodes/SEA-3PL")
        self.assertIn("Secret set by console_test_ops", d.find_element(By.ID, "secret").text)
        self.assertNotIn(secret, d.page_source)

        out = subprocess.run([PYTHON, "-m", "console", "secret", "set", "SEA-3PL"], cwd=ROOT, check=True,
                             capture_output=True, text=True,
                             env=console_env("console_test_ops", CONSOLE_KEY_FILE=S["key_file"]))
        node, new = out.stdout.split()
        self.assertEqual(node, "SEA-3PL")
        self.assertNotEqual(new, secret)
        S["secrets"]["SEA-3PL"] = new
        sku = one("SELECT sku FROM stockroute.stock WHERE node_id = 'SEA-3PL' ORDER BY sku LIMIT 1")
        body = json.dumps([event("SEA-3PL", "rot-1", sku, 1)]).encode()
        self.assertEqual(webhook(body, signed("SEA-3PL", body, secret))[0], 401)
        status, reply = webhook(body, signed("SEA-3PL", body, new))
        self.assertEqual((status, reply["applied"]), (200, 1))

    # -- the demo feed -------------------------------------------------------------------

    def test_feed_goes_through_the_webhook(self):
        secrets_file = S["tmp"] / "secrets"
        secrets_file.write_text("".join(f"{n} {s}\n" for n, s in S["secrets"].items()))
        before = events_count()
        orders_before = one("SELECT count(*) FROM stockroute.decision WHERE order_ref LIKE 'WEB-%%'")
        out = subprocess.run([PYTHON, "-m", "console", "feed", "--url", S["ops"], "--secrets", str(secrets_file),
                              "--ticks", "8", "--interval", "0", "--seed", "7", "--orders-every", "2"],
                             cwd=ROOT, capture_output=True, text=True, timeout=120,
                             env=console_env("console_test_ops"))
        self.assertEqual(out.returncode, 0, out.stderr)
        stats = dict(kv.split(" ") for kv in out.stdout.strip().splitlines()[-1][len("feed: "):].split(", "))
        stats = {k: int(v) for k, v in stats.items()}
        self.assertGreater(stats["applied"], 0)
        self.assertGreater(stats["duplicate"], 0)
        self.assertEqual(stats["refused"], 0)
        self.assertEqual(stats["orders"], 4)
        self.assertEqual(events_count() - before,
                         stats["applied"] + stats["duplicate"] + stats["superseded"] + stats["rejected"])
        self.assertEqual(one("SELECT count(*) FROM stockroute.decision WHERE order_ref LIKE 'WEB-%%'") - orders_before, 4)


def main():
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(
        unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__]))
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - len(result.failures) - len(result.errors) - len(result.skipped)
    print(f"browser: {max(passed, 0)} passed, {failed} failed", flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
