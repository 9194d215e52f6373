#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into an empty database and artifact directory.
# Usage: DATABASE_URL=postgres://…/new ARTIFACTS_DIR=/path scripts/restore.sh <backup dir>
# Then run `foreman verify` before starting Foreman on it.
set -euo pipefail
in="${1:?usage: scripts/restore.sh <backup dir>}"
: "${DATABASE_URL:?set DATABASE_URL to the empty database to restore into}"
: "${ARTIFACTS_DIR:?set ARTIFACTS_DIR to the artifact directory to restore into}"
pg_restore --no-owner --exit-on-error --single-transaction --dbname="$DATABASE_URL" "$in/foreman.dump"
mkdir -p "$ARTIFACTS_DIR"
tar -C "$ARTIFACTS_DIR" -xf "$in/artifacts.tar"
echo "restored $in into the database and $ARTIFACTS_DIR; now run: foreman verify"
