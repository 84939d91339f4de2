"""What the pages read: constant SQL over the extension's tables and views, bound parameters only."""

NODES = """
SELECT h.node_id, h.name, n.kind, h.status, h.stale, h.routable, h.last_event_at, h.silent_for,
       h.stale_after, h.events_last_hour, h.lag_p50, h.lag_p95, h.seq_missing, h.open_alerts,
       h.capacity_used, h.reject_rate_7d,
       coalesce(s.skus, 0) AS skus, coalesce(s.on_hand, 0) AS on_hand, coalesce(s.reserved, 0) AS reserved,
       coalesce(s.available, 0) AS available, coalesce(s.reserved_covered, 0) AS reserved_covered,
       coalesce(s.held_back, 0) AS held_back, coalesce(s.short, 0) AS short,
       coalesce(s.low, 0) AS low,
       n.status = 'active' AND h.last_event_at < now() - h.stale_after AS silent_past_stale_after
  FROM stockroute.node_health h
  JOIN stockroute.node n ON n.node_id = h.node_id
  LEFT JOIN (SELECT s.node_id,
                    count(*) FILTER (WHERE s.on_hand > 0) AS skus,
                    sum(s.on_hand) AS on_hand, sum(s.reserved) AS reserved, sum(s.available) AS available,
                    sum(least(s.reserved, greatest(s.on_hand, 0))) AS reserved_covered,
                    sum(greatest(s.on_hand, 0) - least(s.reserved, greatest(s.on_hand, 0)) - s.available) AS held_back,
                    sum(greatest(s.reserved - s.on_hand, 0)) AS short,
                    count(*) FILTER (WHERE s.reorder_point > 0 AND s.available <= s.reorder_point) AS low
               FROM stockroute.stock s GROUP BY s.node_id) s ON s.node_id = h.node_id
 ORDER BY h.node_id
"""

ALERTS_BY_KIND = """
SELECT a.kind, count(*) AS open, count(k.alert_id) AS acknowledged, min(a.raised_at) AS oldest
  FROM stockroute.alert a LEFT JOIN stockroute.alert_ack k ON k.alert_id = a.alert_id
 WHERE a.status = 'open'
 GROUP BY a.kind ORDER BY a.kind
"""

ALERTS = """
SELECT a.alert_id, a.kind, a.node_id, a.sku, a.lot_code, a.detail, a.status, a.raised_at, a.resolved_at,
       k.acknowledged_by, k.acknowledged_at, k.note
  FROM stockroute.alert a LEFT JOIN stockroute.alert_ack k ON k.alert_id = a.alert_id
 WHERE (a.status = 'open' OR a.resolved_at > now() - %(resolved_within)s::interval)
   AND (%(node_id)s::text IS NULL OR a.node_id = %(node_id)s)
   AND (%(kinds)s::text[] IS NULL OR a.kind = ANY (%(kinds)s::text[]))
 ORDER BY a.status = 'open' DESC,
          array_position(ARRAY['drift', 'shortfall', 'stale_node', 'sync_gap', 'low_stock'], a.kind),
          a.raised_at DESC, a.node_id, a.sku
 LIMIT %(limit)s
"""

LAST_RUN = """
SELECT run_id, started_at, finished_at, duration, expired, drift, stale, shortfall, rerouted, backordered,
       backorders_filled, low_stock, summary, now() - started_at AS ago
  FROM stockroute.reconcile_run ORDER BY run_id DESC LIMIT 1
"""

RUNS = """
SELECT run_id, started_at, duration, expired, drift, stale, shortfall, rerouted, backordered,
       backorders_filled, low_stock, summary
  FROM stockroute.reconcile_run ORDER BY run_id DESC LIMIT %(limit)s
"""

BACKORDER_TOTALS = """
SELECT count(*) AS lines, coalesce(sum(qty), 0) AS units, min(created_at) AS oldest,
       count(*) FILTER (WHERE promised_on IS NULL) AS unpromised
  FROM stockroute.backorder WHERE status = 'open'
"""

BACKORDERS = """
SELECT b.backorder_id, b.order_ref, b.line_ref, b.sku, b.qty, b.priority, b.status, b.promised_on,
       b.created_at, b.updated_at, now() - b.created_at AS age,
       (SELECT coalesce(sum(s.available), 0) FROM stockroute.stock s WHERE s.sku = b.sku) AS available_now,
       (SELECT min(p.expected_on) FROM stockroute.supply p WHERE p.sku = b.sku AND p.status = 'open') AS next_supply
  FROM stockroute.backorder b
 WHERE b.status = 'open' OR b.updated_at > now() - interval '1 day'
 ORDER BY b.status = 'open' DESC, b.priority DESC, b.created_at
 LIMIT %(limit)s
"""

NODE = """
SELECT n.node_id, n.name, n.kind, n.status, n.stale, n.country, n.region, n.postal_code, n.tags,
       n.handling_days, n.cutoff, n.timezone, n.stale_after, n.last_event_at, n.last_occurred_at,
       n.seq_min, n.seq_max, n.seq_count, n.daily_order_limit, n.daily_unit_limit,
       h.routable, h.silent_for, h.events_last_hour, h.lag_p50, h.lag_p95, h.seq_missing, h.open_alerts,
       h.orders_today, h.units_today, h.capacity_used, h.rejections_24h, h.rejections_7d, h.reject_rate_7d
  FROM stockroute.node n JOIN stockroute.node_health h ON h.node_id = n.node_id
 WHERE n.node_id = %(node_id)s
"""

NODE_STOCK = """
SELECT s.sku, i.name, s.on_hand, s.reserved, s.safety_stock, s.available, s.reorder_point,
       s.on_hand < s.reserved AS short,
       s.reorder_point > 0 AND s.available <= s.reorder_point AS low,
       s.counted_at, s.updated_at
  FROM stockroute.stock s JOIN stockroute.item i ON i.sku = s.sku
 WHERE s.node_id = %(node_id)s
 ORDER BY s.on_hand < s.reserved DESC, (s.reorder_point > 0 AND s.available <= s.reorder_point) DESC, s.sku
"""

NODE_LATENCY = """
SELECT pg_catalog.date_bin(%(bucket)s::interval, e.received_at, '2000-01-01 00:00+00') AS t,
       count(*) AS events,
       count(*) FILTER (WHERE e.status = 'rejected') AS rejected,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.latency)) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM e.latency)) AS p95
  FROM stockroute.event e
 WHERE e.node_id = %(node_id)s AND e.received_at > now() - %(window)s::interval
 GROUP BY 1 ORDER BY 1
"""

NODE_EVENT_TOTALS = """
SELECT count(*) AS events,
       count(*) FILTER (WHERE e.status = 'applied') AS applied,
       count(*) FILTER (WHERE e.status = 'duplicate') AS duplicate,
       count(*) FILTER (WHERE e.status = 'superseded') AS superseded,
       count(*) FILTER (WHERE e.status = 'rejected') AS rejected,
       round(count(*) FILTER (WHERE e.status = 'rejected')::numeric / nullif(count(*), 0), 4) AS rejection_rate,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.latency)) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM e.latency)) AS p95
  FROM stockroute.event e
 WHERE e.node_id = %(node_id)s AND e.received_at > now() - %(window)s::interval
"""

NODE_EVENTS = """
SELECT e.received_at, e.occurred_at, e.latency, e.seq, e.idempotency_key, e.kind, e.sku, e.qty,
       e.status, e.error
  FROM stockroute.event e
 WHERE e.node_id = %(node_id)s
 ORDER BY e.received_at DESC, e.seq DESC NULLS LAST
 LIMIT %(limit)s
"""

NODE_STATUS_HISTORY = """
SELECT old_status, new_status, reason, changed_by, changed_at
  FROM stockroute.node_status_change WHERE node_id = %(node_id)s
 ORDER BY changed_at DESC LIMIT 20
"""

NODE_SECRET = """
SELECT key_id, set_by, set_at FROM stockroute.node_secret WHERE node_id = %(node_id)s
"""

SECRET_FOR_WEBHOOK = """
SELECT sealed, key_id FROM stockroute.node_secret WHERE node_id = %s
"""

DISCREPANCIES = """
SELECT d.alert_id, d.kind, d.node_id, d.sku, d.lot_code, d.status, d.detail, d.raised_at, d.resolved_at,
       d.run_id, k.acknowledged_by
  FROM stockroute.discrepancy d LEFT JOIN stockroute.alert_ack k ON k.alert_id = d.alert_id
 WHERE d.status = 'open' OR d.resolved_at > now() - interval '1 day'
 ORDER BY d.status = 'open' DESC, d.raised_at DESC
 LIMIT 200
"""

REROUTES = """
SELECT d.order_ref, d.created_at, d.input->>'node_id' AS node_id, d.input->>'sku' AS sku,
       d.input->>'lot_code' AS lot_code, (d.input->>'qty')::bigint AS qty,
       (d.output->>'backordered')::bigint AS backordered, d.output->>'method' AS method,
       (SELECT string_agg((r->>'node_id') || ' ' || (r->>'qty'), ', ')
          FROM jsonb_array_elements(coalesce(d.output->'reservations', '[]')) r) AS placed_at
  FROM stockroute.decision d
 WHERE d.kind = 'reroute'
 ORDER BY d.created_at DESC LIMIT 50
"""

ORDERS = """
SELECT d.order_ref, d.created_at, d.output->>'status' AS status, (d.output->>'cost')::numeric AS cost,
       jsonb_array_length(coalesce(d.output->'shipments', '[]')) AS shipments,
       (SELECT string_agg(r.status || ' ' || r.n, ', ' ORDER BY r.status)
          FROM (SELECT r.status, count(*) AS n FROM stockroute.reservation r
                 WHERE r.order_ref = d.order_ref GROUP BY r.status) r) AS reservations
  FROM (SELECT DISTINCT ON (order_ref) order_ref, created_at, output
          FROM stockroute.decision WHERE kind = 'allocate'
         ORDER BY order_ref, created_at DESC) d
 ORDER BY d.created_at DESC, d.order_ref
 LIMIT %(limit)s
"""

ORDER_DECISIONS = """
SELECT d.decision_id, d.kind, d.profile_name, d.profile_version, d.input, d.output, d.solver, d.created_at
  FROM stockroute.decision d WHERE d.order_ref = %(order_ref)s ORDER BY d.created_at, d.kind
"""

ORDER_RESERVATIONS = """
SELECT r.line_ref, r.sku, r.node_id, r.lot_code, r.qty, r.status, r.expires_at, r.created_at,
       r.committed_at, r.closed_at
  FROM stockroute.reservation r WHERE r.order_ref = %(order_ref)s
 ORDER BY r.line_ref, r.node_id, r.created_at
"""

ORDER_BACKORDERS = """
SELECT b.line_ref, b.sku, b.qty, b.status, b.priority, b.promised_on, b.created_at
  FROM stockroute.backorder b WHERE b.order_ref = %(order_ref)s ORDER BY b.created_at
"""

ORDER_EXCLUSIONS = """
SELECT x.node_id, x.reason, x.expires_at, x.created_at
  FROM stockroute.order_exclusion x WHERE x.order_ref = %(order_ref)s ORDER BY x.created_at
"""

EXPLAIN = "SELECT stockroute.explain(%s::jsonb)"

INTERVENTIONS = """
SELECT i.recorded_at, i.action, i.args, i.ok, i.result, i.sqlstate, i.error, i.actor, i.db_role
  FROM stockroute.intervention i
 ORDER BY i.recorded_at DESC LIMIT %(limit)s
"""

WHOAMI = """
SELECT current_user AS role,
       pg_catalog.pg_has_role(current_user, 'stockroute_admin', 'MEMBER') AS admin,
       pg_catalog.pg_has_role(current_user, 'stockroute_app', 'MEMBER') AS app,
       current_database() AS database
"""

# The library defines its settings when it loads; any call into it loads it.
LOAD_LIBRARY = "SELECT stockroute.routing_now()"
MAX_BATCH_EVENTS = "SELECT pg_catalog.current_setting('stockroute.max_batch_events')::integer"

INGEST = "SELECT stockroute.ingest(%s::jsonb)"

RECORD = ("SELECT stockroute.record_intervention(%s, %s::jsonb, %s, %s::jsonb, %s, %s, %s)")

# Interventions: the action, its statement, the form fields that are its arguments in order.
ACTIONS = {
    "set_node_status": ("SELECT stockroute.set_node_status(%s, %s, %s)", ("node_id", "status", "reason")),
    "commit": ("SELECT stockroute.commit(%s)", ("order_ref",)),
    "release": ("SELECT stockroute.release(%s)", ("order_ref",)),
    "reject": ("SELECT stockroute.reject(%s, %s, %s)", ("order_ref", "node_id", "reason")),
    "reconcile": ("SELECT stockroute.reconcile()", ()),
    "acknowledge_alert": ("SELECT stockroute.acknowledge_alert(%s::uuid, %s)", ("alert_id", "note")),
}
