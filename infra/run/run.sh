#!/usr/bin/env bash
# `make run`: the pipeline with a simulated fleet, on the local stack `make up` started.
# Starts the fleet simulator (with its LoRaWAN network-server emulator), the ingest process with
# every connector, every stream worker, the billing connector and the GraphQL API, logging each to
# var/log/run-*.log; then shows the flow through every topic until Ctrl-C, which stops everything it
# started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$ROOT"
TSX=node_modules/.bin/tsx

# A development master key for device keys at rest, made once per checkout (never commit it).
key_file="$RUN/dev-device-key"
[ -s "$key_file" ] || openssl rand -hex 32 >"$key_file"
export DEVICE_KEY_ENCRYPTION_KEY=${DEVICE_KEY_ENCRYPTION_KEY:-$(cat "$key_file")}
export CONNECTORS=mqtt,http,mbus-tcp,lns
export LNS_URL=ws://127.0.0.1:${SIM_LNS_PORT:-8090} LNS_LOGIN=sim LNS_PASSWORD=sim
export LOG_LEVEL=${LOG_LEVEL:-info}
ingest_metrics=${INGEST_METRICS_PORT:-9464}

pids=()
start() {
  local name=$1; shift
  say "starting $name (log: var/log/run-$name.log)"
  # Own session: Ctrl-C reaches this script only, which then stops each process once.
  setsid "$@" >"$LOGS/run-$name.log" 2>&1 &
  pids+=($!)
}
stop_all() {
  trap - EXIT INT TERM
  say "stopping ${#pids[@]} processes"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop_all EXIT INT TERM

SIM_CLAIM_DEVICES=1 SIM_WAIT_FOR="http://127.0.0.1:$ingest_metrics/healthz" SIM_LEDGER_FILE="$RUN/simulator-ledger.json" \
  start simulator "$TSX" connectors/simulator/main.ts
METRICS_PORT=$ingest_metrics start ingest "$TSX" connectors/main.ts
for worker in decode index consumption concentration footprint alerts; do
  start "$worker" "$TSX" "streams/$worker/main.ts"
done
start billing "$TSX" connectors/billing/main.ts
start api "$TSX" graphql/main.ts

api=http://127.0.0.1:${API_PORT:-4000}
say "the ingest process reports on http://127.0.0.1:$ingest_metrics/healthz and /metrics"
say "GraphQL on $api/graphql; the explorer and wallboard addresses with a token are in the simulator's lines below"
setsid "$TSX" infra/run/watch-flow.ts &
pids+=($!)
tail -n +1 -F "$LOGS/run-simulator.log" 2>/dev/null | grep --line-buffered '^\[sim\]' &
pids+=($!)
wait "${pids[@]}"
