#!/usr/bin/env bash
# Back up a shared HRDD Assistant: the PostgreSQL database (pg_dump) and the Chroma folder.
#
#   HRDD_DATABASE_URL=postgresql+psycopg://... deploy/backup.sh CHROMA_FOLDER BACKUP_FOLDER
#
# The database is dumped online (pg_dump takes a consistent snapshot). The Chroma folder is
# copied as files, so stop the Chroma server first and start it again afterwards (the apps
# answer with an error for that minute; docs/deployment.md). tests/test_backup.py runs this.
set -euo pipefail

chroma=${1:?usage: backup.sh CHROMA_FOLDER BACKUP_FOLDER}
backup=${2:?usage: backup.sh CHROMA_FOLDER BACKUP_FOLDER}
database=${HRDD_DATABASE_URL:?set HRDD_DATABASE_URL to the app database}
database=${database/postgresql+psycopg:/postgresql:}  # libpq does not know SQLAlchemy's driver

[ -f "$chroma/chroma.sqlite3" ] || { echo "backup.sh: $chroma is not a Chroma folder" >&2; exit 2; }
mkdir -p "$backup"
pg_dump --format=custom --no-owner --file="$backup/hrdd.pgdump" "$database"
tar -C "$chroma" -czf "$backup/chroma.tar.gz" .
echo "Backed up the database and $chroma to $backup"
