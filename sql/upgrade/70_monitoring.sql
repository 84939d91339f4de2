-- stockroute 0.1.0 -> 0.2.0, monitoring: the decision log is read by time
-- (the rates of monitoring/queries.yaml, replay()'s window), so it gets an
-- index on created_at (sql/10_schema.sql).
CREATE INDEX decision_created_idx ON stockroute.decision (created_at);
