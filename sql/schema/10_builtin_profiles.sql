-- stockroute, the profiles shipped with the extension (read-only: the
-- profile_versioning trigger of sql/10_profile.sql refuses to change them,
-- and records their first version).  A "create 0.1.0" part (sql/manifest):
-- only the install script inserts them; an update that changes or adds one
-- does so in its delta.

INSERT INTO stockroute.profile (profile_name, builtin, description, w_cost, w_days, w_distance, split_penalty)
VALUES
    ('default',  true, 'balanced: freight cost plus one unit of score per shipment-day', 1, 1, 0, 0),
    ('cheapest', true, 'lowest freight cost; delivery days only break ties', 1, 0.01, 0, 0),
    ('fastest',  true, 'fewest delivery days; cost is secondary', 0.05, 100, 0, 0),
    ('closest',  true, 'shortest distance from node to destination', 0.01, 0, 1, 0);
