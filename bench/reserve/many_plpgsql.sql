-- many SKUs: reserve 1 unit of a random SKU among S1..S10000 at a random node among N1..N20 (plpgsql)
\set sku random(1, 10000)
\set node random(1, 20)
\set r random(1, 9000000000000000000)
SELECT bench_reserve.try_plpgsql('o' || :r, 'S' || :sku, 'N' || :node, 1, 'k' || :r);
