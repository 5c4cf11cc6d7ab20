# Elasticsearch (integration-test distribution) on 127.0.0.1:9200, run as the non-root user
# meterflux-es because Elasticsearch refuses to run as root. Sourced by infra/stack.sh.

ES_VERSION=$(pom_property "$ROOT/infra/elasticsearch/pom.xml" elasticsearch.version)
ES_HOME="$DIST/elasticsearch-$ES_VERSION/elasticsearch-$ES_VERSION"
ES_DIR="$DATA/elasticsearch"
ES_LOG="$LOGS/elasticsearch.log"
ES_USER=meterflux-es
ES_URL="http://127.0.0.1:9200"

elasticsearch_address() { echo "$ES_URL"; }

elasticsearch_healthy() { http_ok "$ES_URL/_cluster/health?wait_for_status=yellow&timeout=1s"; }

elasticsearch_state() {
  if elasticsearch_healthy; then echo healthy; elif pid_alive elasticsearch; then echo starting; else echo stopped; fi
}

elasticsearch_fetch() { mvn_fetch elasticsearch "$ROOT/infra/elasticsearch/pom.xml" dependency:unpack "$DIST/elasticsearch-$ES_VERSION"; }

elasticsearch_user() {
  id "$ES_USER" >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || die elasticsearch "user $ES_USER is missing; as root run: useradd --system --no-create-home $ES_USER"
  useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
}

# The node's own config, data and temp folders belong to the service user; the distribution stays root's.
elasticsearch_layout() {
  mkdir -p "$ES_DIR/config" "$ES_DIR/data" "$ES_DIR/tmp" "$ES_DIR/logs"
  cp -r "$ES_HOME/config/." "$ES_DIR/config/"
  sed -e "s#@DATA@#$ES_DIR/data#" -e "s#@LOGS@#$ES_DIR/logs#" \
    "$ROOT/infra/elasticsearch/elasticsearch.yml" >"$ES_DIR/config/elasticsearch.yml"
  chown -R "$ES_USER" "$ES_DIR"
  runuser -u "$ES_USER" -- test -r "$ES_HOME/bin/elasticsearch" \
    || die elasticsearch "$ES_USER cannot read $ES_HOME: every folder above the checkout must be world-readable (chmod o+rx)"
}

elasticsearch_up() {
  if elasticsearch_healthy; then
    pid_alive elasticsearch || say "elasticsearch: already running on 127.0.0.1:9200, not started by this checkout; using it"
    return 0
  fi
  if port_open 127.0.0.1 9200; then
    # Listening but not answering in time (a loaded machine): wait for it rather than start a second one.
    say "elasticsearch: 127.0.0.1:9200 is listening but slow to answer; waiting for it"
    wait_until elasticsearch 180 "$ES_LOG" elasticsearch_healthy
    return 0
  fi
  elasticsearch_fetch
  elasticsearch_user
  elasticsearch_layout
  local java
  java=$(pick_java 17)
  [ -n "$java" ] || die elasticsearch "needs Java 17 or newer"
  say "starting Elasticsearch $ES_VERSION as $ES_USER"
  : >"$ES_LOG"
  runuser -u "$ES_USER" -- env ES_PATH_CONF="$ES_DIR/config" ES_TMPDIR="$ES_DIR/tmp" \
    ES_JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$java")")")" ES_JAVA_OPTS="-Xms512m -Xmx512m" \
    "$ES_HOME/bin/elasticsearch" -d -p "$ES_DIR/es.pid" >>"$ES_LOG" 2>&1 \
    || die elasticsearch "the start script failed" "$ES_LOG"
  cp "$ES_DIR/es.pid" "$RUN/elasticsearch.pid"
  wait_until elasticsearch 180 "$ES_DIR/logs/meterflux-dev.log" elasticsearch_healthy
}

elasticsearch_down() { stop_pid elasticsearch 60; }
