-- The inbox claim (src/db/queries/claim-next-inbox-event.ts) walks pending rows oldest first and
-- stops at the first it may take, instead of checking and sorting every pending row.
CREATE INDEX "webhook_deliveries_pending_id_idx" ON "webhook_deliveries" USING btree ("id") WHERE status = 'pending';
