#!/usr/bin/env bash
# The README's first command under load: `npm start` on a fresh DATA_DIR with the onboarding
# running beside (propagation windows 0 s), then the peers' load generator against it
# (N creates, C at a time, then S seconds of `userName eq` lookups), then a clean stop. The
# settling window before the first invitation is 0 s too (SETTLE_DELAY; older checkouts ignore it).
#
#   bench/all-in-one.sh                          # embedded defaults
#   DATABASE_URL=postgres://… bench/all-in-one.sh  # the same against a PostgreSQL server (an empty database)
#
# REPO (default: this checkout) runs another checkout's `npm start`, e.g. the commit before a
# change; LOAD (default ../shared/peers/load.mjs beside the repository), USERS (2000), CONC (8),
# SECONDS_LOOKUP (20). Prints the load generator's JSON line, then what the onboarding finished
# meanwhile. Results: docs/performance.md §7.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
repo=${REPO:-$here}
load=${LOAD:-$here/../shared/peers/load.mjs}
work=$(mktemp -d /tmp/scimflow-aio-bench.XXXXXX)
chmod 755 "$work" # as root, the embedded PostgreSQL runs as `postgres` and must reach DATA_DIR
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

cd "$repo"
DATA_DIR=$work/data PORT=$(port) TEMPORAL_DEV_PORT=$(port) TEMPORAL_UI_PORT=$(port) EMBEDDED_POSTGRES_PORT=$(port) \
  TAG_PROPAGATION_DELAY=0s ROLE_PROPAGATION_DELAY=0s SETTLE_DELAY=0s LOG_LEVEL=warn \
  node --import tsx cli/start-all.ts >"$work/out" 2>"$work/err" &
pid=$!
stop() { kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap stop EXIT
for _ in $(seq 1 180); do grep -q '^TEMPORAL_UI_URL=' "$work/out" 2>/dev/null && break; kill -0 "$pid" 2>/dev/null || break; sleep 1; done
base=$(sed -n 's/^SCIM_BASE_URL=//p' "$work/out")
token=$(sed -n 's/^SCIM_TOKEN=//p' "$work/out")
[ -n "$token" ] || { cat "$work/err" >&2; exit 1; }
node "$load" --base "$base" --token "$token" --users "${USERS:-2000}" --conc "${CONC:-8}" --seconds "${SECONDS_LOOKUP:-20}"
echo "invitations sent while the load ran: $(ls "$work/data/outbox" 2>/dev/null | wc -l) of ${USERS:-2000}"
