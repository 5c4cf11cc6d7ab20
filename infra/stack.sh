#!/usr/bin/env bash
# The local stack without Docker: Kafka (KRaft), Apicurio Registry and Elasticsearch fetched from
# Maven Central and run from var/, plus the machine's PostgreSQL, Redis and Mosquitto.
#
#   infra/stack.sh fetch    download pinned distributions (once per version, cached in ~/.m2 too)
#   infra/stack.sh up       start whatever is not running, wait for health, print the table (idempotent)
#   infra/stack.sh down     stop what this project started (data stays under var/data)
#   infra/stack.sh status   print the table; exit 1 when a component is not healthy
#   infra/stack.sh restart COMPONENT   stop and start one component (fault-injection tests use it)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib/common.sh"
source "$here/services/machine-services.sh"
source "$here/kafka/kafka.sh"
source "$here/registry/registry.sh"
source "$here/elasticsearch/elasticsearch.sh"

COMPONENTS=(postgres redis mosquitto kafka registry elasticsearch)

status_table() {
  local unhealthy=0 component state
  printf '%-14s %-44s %s\n' COMPONENT ADDRESS STATE
  for component in "${COMPONENTS[@]}"; do
    state=$("${component}_state")
    [ "$state" = healthy ] || unhealthy=1
    printf '%-14s %-44s %s\n' "$component" "$("${component}_address")" "$state"
  done
  return "$unhealthy"
}

fetch_all() {
  local pids=() pid failed=0
  kafka_fetch & pids+=($!)
  registry_fetch & pids+=($!)
  elasticsearch_fetch & pids+=($!)
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  return "$failed"
}

up() {
  fetch_all
  # Elasticsearch is the slowest to start: launch it first and collect it last.
  elasticsearch_up & local es_pid=$!
  postgres_up
  redis_up
  mosquitto_up
  kafka_up
  registry_up
  wait "$es_pid"
}

down() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do "${COMPONENTS[i]}_down"; done
}

case "${1:-}" in
  fetch) fetch_all ;;
  up) up; status_table ;;
  down) down; status_table || true ;;
  status) status_table ;;
  restart)
    component=${2:-}
    [[ " ${COMPONENTS[*]} " == *" $component "* ]] || { echo "usage: infra/stack.sh restart ${COMPONENTS[*]// /|}" >&2; exit 2; }
    # Machine services are restarted even when this project did not start them: the caller asked.
    case "$component" in
      mosquitto) pkill -x mosquitto || true; for _ in $(seq 50); do port_open 127.0.0.1 1883 || break; sleep 0.1; done ;;
      redis) redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true; sleep 0.5 ;;
      postgres) pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main stop ;;
      *)
        pid_alive "$component" || die "$component" "cannot restart it: it was not started by this checkout (var/run/$component.pid)"
        "${component}_down" ;;
    esac
    "${component}_up"
    ;;
  *) echo "usage: infra/stack.sh fetch|up|down|status|restart COMPONENT" >&2; exit 2 ;;
esac
