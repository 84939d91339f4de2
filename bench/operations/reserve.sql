-- 1 unit of a random SKU at a random node, for a new order
\set node random(1, 10)
\set sku random(1, 1000)
\set r random(1, 9000000000000000000)
SELECT stockroute.reserve('o' || :r, '1', 'S' || :sku, 'N' || :node, 1);
