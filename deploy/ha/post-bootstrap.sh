#!/bin/sh
# Run once by Patroni on the node that initialises the cluster: the application's role and database.
set -eu
psql -v ON_ERROR_STOP=1 -d "$1" <<SQL
CREATE ROLE minqing LOGIN PASSWORD '${MINQING_DB_PASSWORD}';
CREATE DATABASE minqing OWNER minqing;
SQL
