-- Notifications leave in the order they were written (the notifier sends one channel's deliveries
-- oldest first: a healthchecks start ping must not arrive after the same run's success ping).
-- `created_at` alone does not say it: two rows written within the same clock tick tie (seen on the
-- embedded PGlite, whose clock ticks in milliseconds), and the tie was broken by the notification
-- id, a hash. `seq` is the order of the inserts. An identity column's sequence needs no grant to
-- the device roles (PostgreSQL uses it without a permission check).
ALTER TABLE notification_outbox ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE INDEX notification_outbox_order_idx ON notification_outbox (created_at, seq) WHERE done_at IS NULL;
