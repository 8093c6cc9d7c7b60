-- Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d):
-- the three roles of docs/operations.md §1. The app and ops roles must exist before the
-- first `congvu db upgrade`, which grants them their rights; neither may bypass row-level
-- security. The ops role only reads the key that signs the app's tenant settings.
CREATE ROLE congvu_owner LOGIN NOSUPERUSER PASSWORD 'owner-password';
CREATE ROLE congvu_app LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD 'app-password';
CREATE ROLE congvu_ops LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD 'ops-password';
CREATE DATABASE congvu OWNER congvu_owner ENCODING 'UTF8' TEMPLATE template0;
