#!/usr/bin/env bash
# Back up Foreman: the database (pg_dump, custom format) and then the artifact store.
# Usage: DATABASE_URL=postgres://… ARTIFACTS_DIR=/path scripts/backup.sh <backup dir>
# The dump comes first: artifacts are content-addressed and written before the records that name
# them, so a copy taken after the dump holds every file the dumped records reference.
set -euo pipefail
out="${1:?usage: scripts/backup.sh <backup dir>}"
: "${DATABASE_URL:?set DATABASE_URL to the database to back up}"
: "${ARTIFACTS_DIR:?set ARTIFACTS_DIR to the artifact store (DATA_DIR/artifacts by default)}"
mkdir -p "$out"
pg_dump --format=custom --no-owner --file="$out/foreman.dump" "$DATABASE_URL"
tar -C "$ARTIFACTS_DIR" -cf "$out/artifacts.tar" .
echo "backed up to $out (foreman.dump, artifacts.tar)"
