#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into an empty Chroma folder and database.
#
#   HRDD_DATABASE_URL=postgresql+psycopg://... deploy/restore.sh BACKUP_FOLDER CHROMA_FOLDER
#
# Stop the apps and the Chroma server first. CHROMA_FOLDER must be empty or absent; the
# database must exist and be empty (createdb). Then start Chroma, check `hrdd db current`
# (run `hrdd db upgrade` if the backup came from an older version) and start the apps.
set -euo pipefail

backup=${1:?usage: restore.sh BACKUP_FOLDER CHROMA_FOLDER}
chroma=${2:?usage: restore.sh BACKUP_FOLDER CHROMA_FOLDER}
database=${HRDD_DATABASE_URL:?set HRDD_DATABASE_URL to the app database}
database=${database/postgresql+psycopg:/postgresql:}

for f in hrdd.pgdump chroma.tar.gz; do
  [ -f "$backup/$f" ] || { echo "restore.sh: $backup/$f is missing" >&2; exit 2; }
done
if [ -n "$(ls -A "$chroma" 2>/dev/null)" ]; then
  echo "restore.sh: $chroma is not empty; move it aside first" >&2; exit 2
fi
mkdir -p "$chroma"
tar -C "$chroma" -xzf "$backup/chroma.tar.gz"
pg_restore --no-owner --exit-on-error --dbname="$database" "$backup/hrdd.pgdump"
echo "Restored $backup into $chroma and the database"
