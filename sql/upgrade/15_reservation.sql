-- stockroute 0.1.0 -> 0.2.0, reservation triggers (src/reservation.c): a
-- new reservation is held, new units need an active node, and a short stock
-- row expires its lapsed holds before it refuses.  Only the comments of the
-- trigger functions change (sql/20_reservation.sql).
COMMENT ON FUNCTION stockroute.reservation_guard() IS
    'Trigger: a new reservation is held (other statuses only while stockroute.restoring), legal status moves only, identity columns frozen, default expiry and timestamps';
COMMENT ON FUNCTION stockroute.reservation_apply() IS
    'Trigger: moves active reservation quantity into stock.reserved and lot.reserved, refusing any increase at a node that is not active or that available stock does not cover once the stock row''s lapsed holds are expired';
