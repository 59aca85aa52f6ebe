-- A counter that every announced change bumps, in the same statement as its NOTIFY. A replica that
-- finds it ahead of the announcements it heard has missed some (a listener connection that died
-- without saying so) and forgets its caches; PostgreSQL replicas read it every second.
CREATE TABLE change_stamp (
    id  TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO change_stamp (id, seq) VALUES ('changes', 0);
