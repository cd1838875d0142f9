-- rstwatch's ClickHouse users in SQL RBAC, for an existing server (run as a user with access
-- management). The same users, profiles and grants as users.d/rstwatch.xml (test/store/users.test.ts
-- checks that they agree and what each user may do); docs/deployment.md, "ClickHouse users".
--
--   rstwatch_migrate  `rstwatch migrate`: schema DDL (and the owner of the materialized views)
--   rstwatch_writer   processor and detection stage: SELECT + INSERT, no DDL
--   rstwatch_reader   Grafana, SIEMs, `rstwatch query`: SELECT only, readonly = 2
--
-- Passwords are placeholders, filled in from the environment when you apply the file (single quotes
-- in a password must be doubled):
--   export CH_RSTWATCH_MIGRATE_PASSWORD=... CH_RSTWATCH_WRITER_PASSWORD=... CH_RSTWATCH_READER_PASSWORD=...
--   envsubst '$CH_RSTWATCH_MIGRATE_PASSWORD $CH_RSTWATCH_WRITER_PASSWORD $CH_RSTWATCH_READER_PASSWORD' \
--     < infra/clickhouse/users.sql | clickhouse-client --user admin --ask-password --multiquery
-- Another database than `rstwatch` (clickhouse.database): replace `rstwatch.*` below.
-- Cluster: add ON CLUSTER rstwatch_cluster after each object name (or use a replicated user directory).
-- Single server: the CLUSTER grant is not needed.

CREATE SETTINGS PROFILE IF NOT EXISTS rstwatch_writer SETTINGS distributed_foreground_insert = 1;
CREATE SETTINGS PROFILE IF NOT EXISTS rstwatch_reader SETTINGS readonly = 2, distributed_foreground_insert = 1;

CREATE USER IF NOT EXISTS rstwatch_migrate IDENTIFIED WITH sha256_password BY '${CH_RSTWATCH_MIGRATE_PASSWORD}' SETTINGS PROFILE rstwatch_writer;
CREATE USER IF NOT EXISTS rstwatch_writer IDENTIFIED WITH sha256_password BY '${CH_RSTWATCH_WRITER_PASSWORD}' SETTINGS PROFILE rstwatch_writer;
CREATE USER IF NOT EXISTS rstwatch_reader IDENTIFIED WITH sha256_password BY '${CH_RSTWATCH_READER_PASSWORD}' SETTINGS PROFILE rstwatch_reader;

GRANT SELECT, INSERT, CREATE DATABASE, CREATE TABLE, CREATE VIEW, ALTER ADD COLUMN, ALTER TTL ON rstwatch.* TO rstwatch_migrate;
GRANT CLUSTER ON *.* TO rstwatch_migrate;
GRANT SELECT, INSERT ON rstwatch.* TO rstwatch_writer;
GRANT SELECT ON rstwatch.* TO rstwatch_reader;
