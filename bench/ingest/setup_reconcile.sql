-- Reconcile benchmark data: :nodes x :skus stock rows, :holds held
-- reservations (:expired_pct% past expiry), 100 stock rows in shortfall,
-- 1% of rows at their reorder point.
SET client_min_messages = warning;
DROP EXTENSION stockroute CASCADE;
CREATE EXTENSION stockroute;
INSERT INTO stockroute.node (node_id) SELECT 'R' || n FROM generate_series(1, :nodes) n;
INSERT INTO stockroute.item (sku) SELECT 'Q' || s FROM generate_series(1, :skus) s;
INSERT INTO stockroute.stock (node_id, sku, on_hand, reorder_point)
SELECT 'R' || n, 'Q' || s, 100, CASE WHEN (n * 31 + s) % 100 = 0 THEN 200 ELSE 0 END
  FROM generate_series(1, :nodes) n, generate_series(1, :skus) s;
-- holds: one per stock row for the first :holds rows, 2 units each
INSERT INTO stockroute.reservation (order_ref, line_ref, sku, node_id, qty, status, expires_at)
SELECT 'BO-' || g, '1', 'Q' || (1 + g % :skus), 'R' || (1 + g / :skus), 2, 'held',
       CASE WHEN g % 100 < :expired_pct THEN now() - interval '1 minute' ELSE now() + interval '1 hour' END
  FROM generate_series(0, :holds - 1) g;
-- physical truth: 100 rows with an unexpired hold lose their stock (shortfalls to re-route)
UPDATE stockroute.stock SET on_hand = 1
 WHERE (node_id, sku) IN (SELECT 'R' || (1 + g / :skus), 'Q' || (1 + g % :skus)
                            FROM generate_series(0, :holds - 1) g
                           WHERE g % (:holds / 100) = 55);
VACUUM ANALYZE stockroute.stock;
VACUUM ANALYZE stockroute.reservation;
