-- The tenant's time zone: `context.hour`, `context.weekday` and `context.date` are read in it.
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
