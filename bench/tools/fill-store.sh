# fill-store.sh: sourced by the benchmarks that need a long download list.
#
# fill_store DB N DIR fills the SQLite store DB (whose schema sluiced created) with N downloads
# in one transaction, saved into DIR: nine in ten completed, one in ten paused halfway.
#
# SPDX-License-Identifier: GPL-3.0-or-later

fill_store () {
  local db="$1" n="$2" dir="$3"
  sqlite3 "$db" <<SQL
BEGIN;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $n)
INSERT INTO downloads (uri, directory, filename, state, error_kind, http_status,
                       bytes_received, bytes_total, position, created_at, finished_at)
SELECT 'http://127.0.0.1:9/files/file-' || i || '.bin', '$dir',
       'file-' || i || '.bin',
       CASE WHEN i % 10 = 0 THEN 'paused' ELSE 'completed' END, 'none', 200,
       CASE WHEN i % 10 = 0 THEN 524288 ELSE 1048576 END, 1048576, i, 1700000000,
       CASE WHEN i % 10 = 0 THEN 0 ELSE 1700000000 END
FROM c;
COMMIT;
SQL
}
