# PostgreSQL, Redis and Mosquitto: the machine's own services. The stack uses them as they are and
# starts one only when it is not running (then `make down` stops it again). Mosquitto started here
# runs with infra/mosquitto/mosquitto.conf (deep queues); a broker already running keeps its own
# configuration, and `infra/stack.sh restart mosquitto` brings it under the project's.
# Sourced by infra/stack.sh.

psql_admin() { psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -Atq "$@"; }

postgres_address() { echo "127.0.0.1:5432"; }
postgres_state() {
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then echo healthy; else echo stopped; fi
}
postgres_up() {
  pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && return 0
  command -v pg_ctlcluster >/dev/null || die postgres "PostgreSQL is not installed: apt-get install -y postgresql"
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >"$LOGS/postgres-start.log" 2>&1 \
    || die postgres "pg_ctlcluster could not start it" "$LOGS/postgres-start.log"
  touch "$RUN/postgres.started-here"
  wait_until postgres 30 "/var/log/postgresql/postgresql-$version-main.log" pg_isready -h 127.0.0.1 -p 5432 -q
}
postgres_down() {
  [ -f "$RUN/postgres.started-here" ] || return 0
  say "stopping PostgreSQL (this project started it)"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main stop || true
  rm -f "$RUN/postgres.started-here"
}

redis_address() { echo "127.0.0.1:6379"; }
redis_ping() { [ "$(timeout 2 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
redis_state() { if redis_ping; then echo healthy; else echo stopped; fi; }
redis_up() {
  redis_ping && return 0
  command -v redis-server >/dev/null || die redis "Redis is not installed: apt-get install -y redis-server"
  say "starting Redis"
  mkdir -p "$DATA/redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir "$DATA/redis" --logfile "$LOGS/redis.log" --pidfile "$RUN/redis.pid" \
    || die redis "redis-server did not start" "$LOGS/redis.log"
  touch "$RUN/redis.started-here"
  wait_until redis 20 "$LOGS/redis.log" redis_ping
}
redis_down() {
  [ -f "$RUN/redis.started-here" ] || return 0
  say "stopping Redis (this project started it)"
  redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true
  rm -f "$RUN/redis.started-here" "$RUN/redis.pid"
}

mosquitto_address() { echo "mqtt://127.0.0.1:1883"; }
mosquitto_state() { if port_open 127.0.0.1 1883; then echo healthy; else echo stopped; fi; }
mosquitto_up() {
  port_open 127.0.0.1 1883 && return 0
  command -v mosquitto >/dev/null || die mosquitto "Mosquitto is not installed: apt-get install -y mosquitto"
  say "starting Mosquitto"
  mkdir -p /run/mosquitto && chown mosquitto /run/mosquitto 2>/dev/null || true
  start_detached mosquitto "$LOGS/mosquitto.log" mosquitto -c "$ROOT/infra/mosquitto/mosquitto.conf"
  touch "$RUN/mosquitto.started-here"
  wait_until mosquitto 20 /var/log/mosquitto/mosquitto.log port_open 127.0.0.1 1883
}
mosquitto_down() {
  [ -f "$RUN/mosquitto.started-here" ] || return 0
  stop_pid mosquitto 10
  rm -f "$RUN/mosquitto.started-here"
}
