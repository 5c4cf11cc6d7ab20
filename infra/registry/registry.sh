# Apicurio Registry with its Confluent-compatible API on 127.0.0.1:8081, schemas stored in PostgreSQL.
# Sourced by infra/stack.sh.

REGISTRY_VERSION=$(pom_property "$ROOT/infra/registry/pom.xml" apicurio.version)
REGISTRY_HOME="$DIST/apicurio-registry-$REGISTRY_VERSION"
REGISTRY_LOG="$LOGS/registry.log"
REGISTRY_DB=meterflux_registry
REGISTRY_URL="http://127.0.0.1:8081/apis/ccompat/v7"

registry_address() { echo "$REGISTRY_URL"; }

registry_state() {
  if http_ok "$REGISTRY_URL/schemas/types"; then echo healthy; elif pid_alive registry; then echo starting; else echo stopped; fi
}

registry_fetch() { mvn_fetch registry "$ROOT/infra/registry/pom.xml" dependency:unpack "$REGISTRY_HOME"; }

# The registry's database belongs to one Kafka cluster: schema ids are written into every record, so a
# newly formatted Kafka storage gets a new, empty registry database too.
registry_database() {
  local cluster_id marker="$DATA/registry/kafka-cluster-id"
  cluster_id=$(kafka_cluster_id)
  mkdir -p "$DATA/registry"
  if [ "$(cat "$marker" 2>/dev/null)" != "$cluster_id" ]; then
    say "creating registry database $REGISTRY_DB for Kafka cluster $cluster_id"
    psql_admin -c "DROP DATABASE IF EXISTS $REGISTRY_DB WITH (FORCE)" >/dev/null
    psql_admin -c "CREATE DATABASE $REGISTRY_DB" >/dev/null
    echo "$cluster_id" >"$marker"
  fi
}

registry_up() {
  if http_ok "$REGISTRY_URL/schemas/types"; then
    pid_alive registry || say "registry: already running on 127.0.0.1:8081, not started by this checkout; using it"
    return 0
  fi
  if port_open 127.0.0.1 8081; then
    # Listening but not answering in time (a loaded machine): wait for it rather than start a second one.
    say "registry: 127.0.0.1:8081 is listening but slow to answer; waiting for it"
    wait_until registry 120 "$REGISTRY_LOG" http_ok "$REGISTRY_URL/schemas/types"
    return 0
  fi
  registry_fetch
  registry_database
  local java
  java=$(pick_java 21)
  [ -n "$java" ] || die registry "Apicurio Registry $REGISTRY_VERSION needs Java 21 or newer; none found in \$JAVA_HOME, PATH or /usr/lib/jvm"
  say "starting Apicurio Registry $REGISTRY_VERSION"
  (
    cd "$REGISTRY_HOME"
    export QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT=8081
    export QUARKUS_MANAGEMENT_HOST=127.0.0.1 QUARKUS_MANAGEMENT_PORT=9081
    export APICURIO_STORAGE_KIND=sql APICURIO_STORAGE_SQL_KIND=postgresql
    export APICURIO_DATASOURCE_URL="jdbc:postgresql://127.0.0.1:5432/$REGISTRY_DB"
    export APICURIO_DATASOURCE_USERNAME=postgres APICURIO_DATASOURCE_PASSWORD=unused-trust-auth
    start_detached registry "$REGISTRY_LOG" "$java" -Xms64m -Xmx512m -jar quarkus-run.jar
  )
  wait_until registry 120 "$REGISTRY_LOG" http_ok "$REGISTRY_URL/schemas/types"
}

registry_down() { stop_pid registry 30; }
