-- a 2-line order of random SKUs to one of the nodes' towns: shipped from it
\set node random(1, 10)
\set a random(1, 500)
\set b random(501, 1000)
\set r random(1, 9000000000000000000)
SELECT stockroute.allocate(jsonb_build_object(
    'order_ref', 'o' || :r,
    'ship_to', jsonb_build_object('lat', 33.0 + :node * 0.2, 'lon', -84.4),
    'lines', jsonb_build_array(jsonb_build_object('line_ref', '1', 'sku', 'S' || :a, 'qty', 1),
                               jsonb_build_object('line_ref', '2', 'sku', 'S' || :b, 'qty', 2))));
