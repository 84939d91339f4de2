-- hot SKU: reserve 1 unit of HOT at one of N1..N4 (stockroute)
\set node random(1, 4)
\set r random(1, 9000000000000000000)
SELECT bench_reserve.try_stockroute('o' || :r, 'HOT', 'N' || :node, 1, 'k' || :r);
