# Apache Kafka, single KRaft node on 127.0.0.1:9092. Sourced by infra/stack.sh.

KAFKA_VERSION=$(pom_property "$ROOT/infra/kafka/pom.xml" kafka.version)
KAFKA_HOME="$DIST/kafka-$KAFKA_VERSION"
KAFKA_DATA="$DATA/kafka"
KAFKA_LOG="$LOGS/kafka.log"

kafka_address() { echo "127.0.0.1:9092"; }

kafka_state() {
  if port_open 127.0.0.1 9092; then echo healthy; elif pid_alive kafka; then echo starting; else echo stopped; fi
}

kafka_fetch() { mvn_fetch kafka "$ROOT/infra/kafka/pom.xml" dependency:copy-dependencies "$KAFKA_HOME/libs"; }

kafka_java() {
  local java
  java=$(pick_java 17)
  [ -n "$java" ] || die kafka "needs Java 17 or newer: apt-get install -y openjdk-17-jre-headless"
  echo "$java"
}

# Formats the storage once; a new cluster id means a new, empty cluster (the registry follows it).
kafka_format() {
  local java=$1
  mkdir -p "$KAFKA_DATA/logs"
  sed "s#@DATA_DIR@#$KAFKA_DATA/logs#" "$ROOT/infra/kafka/server.properties" >"$KAFKA_DATA/server.properties"
  [ -f "$KAFKA_DATA/logs/meta.properties" ] && return 0
  say "formatting Kafka storage in ${KAFKA_DATA#"$ROOT"/}"
  local cluster_id
  cluster_id=$("$java" -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOG" | tail -n 1)
  "$java" -cp "$KAFKA_HOME/libs/*" -Dlog4j2.configurationFile="$ROOT/infra/kafka/log4j2.yaml" \
    kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DATA/server.properties" >>"$KAFKA_LOG" 2>&1 \
    || die kafka "formatting the storage failed" "$KAFKA_LOG"
}

# kafka_cluster_id — the id of the formatted storage (empty before formatting).
kafka_cluster_id() { sed -n 's/^cluster.id=//p' "$KAFKA_DATA/logs/meta.properties" 2>/dev/null; }

kafka_up() {
  if port_open 127.0.0.1 9092; then
    pid_alive kafka || say "kafka: already running on 127.0.0.1:9092, not started by this checkout; using it"
    return 0
  fi
  kafka_fetch
  local java
  java=$(kafka_java)
  kafka_format "$java"
  say "starting Kafka $KAFKA_VERSION"
  start_detached kafka "$KAFKA_LOG" "$java" -Xms256m -Xmx1g -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$ROOT/infra/kafka/log4j2.yaml" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$KAFKA_DATA/server.properties"
  wait_until kafka 90 "$KAFKA_LOG" port_open 127.0.0.1 9092
}

kafka_down() { stop_pid kafka 60; }
