-- At least once, never silently lost: a delivery claimed as 'sending' holds a lease. A worker
-- killed inside the SMTP exchange leaves the row 'sending'; once its lease has run out the mail
-- is sent again (same link, same Message-ID) instead of being taken as sent. Rows claimed
-- before this column existed have no lease: they are taken as interrupted.
ALTER TABLE mail_deliveries ADD COLUMN lease_until timestamptz;
ALTER TABLE mail_deliveries ADD COLUMN resends integer NOT NULL DEFAULT 0;
