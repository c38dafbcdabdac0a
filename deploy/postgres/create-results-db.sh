#!/bin/sh
# Creates thorbench's results database and its owner in the lab's Postgres, beside Temporal's two databases.
# Idempotent: run by the one-shot `thorbench-results-db` service on every `docker compose up` (a new volume or one
# that predates the results database alike), and by test/deploy.test.ts against a real PostgreSQL.
# thorbench creates its own tables when a worker first opens the database (store/postgres-migrations.ts).
#
# Environment: PGHOST/PGPORT (default postgresql:5432), POSTGRES_USER/POSTGRES_PASSWORD (the server's admin),
# THORBENCH_DB, THORBENCH_DB_USER, THORBENCH_DB_PASSWORD (the results database and its owner).
set -eu
export PGHOST="${PGHOST:-postgresql}" PGPORT="${PGPORT:-5432}" PGUSER="$POSTGRES_USER" PGPASSWORD="${POSTGRES_PASSWORD:-}"
export PGDATABASE="${PGDATABASE:-postgres}"
until pg_isready -q; do sleep 1; done
psql -v ON_ERROR_STOP=1 -q -v db="$THORBENCH_DB" -v owner="$THORBENCH_DB_USER" -v pw="$THORBENCH_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'owner') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
-- Keeps the password in step with .env when it changes.
SELECT format('ALTER ROLE %I PASSWORD %L', :'owner', :'pw') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
echo "results database \"$THORBENCH_DB\" (owner \"$THORBENCH_DB_USER\") is ready"
