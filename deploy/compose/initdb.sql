-- Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d):
-- the two roles of docs/operations.md §1. The app role must exist before the first
-- `congvu db upgrade`, which grants it its rights; it may never bypass row-level security.
CREATE ROLE congvu_owner LOGIN NOSUPERUSER PASSWORD 'owner-password';
CREATE ROLE congvu_app LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD 'app-password';
CREATE DATABASE congvu OWNER congvu_owner ENCODING 'UTF8' TEMPLATE template0;
