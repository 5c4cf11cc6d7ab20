#!/usr/bin/env bash
# Shows the first COUNT values of TOPIC with tools nobody here wrote: kcat reads the raw bytes and
# shows the Confluent framing (magic byte, schema id); the schema is fetched from the registry by
# that id; Apache avro-tools decodes the Avro body with it.
#   infra/inspect/inspect.sh TOPIC [COUNT]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

topic=${1:?usage: inspect.sh TOPIC [COUNT]}
count=${2:-5}
brokers=${KAFKA_BROKERS:-127.0.0.1:9092}
registry=${SCHEMA_REGISTRY_URL:-http://127.0.0.1:8081/apis/ccompat/v7}
kcat=$(command -v kcat || command -v kafkacat)
avro_tools="$DIST/avro-tools-$(pom_property "$ROOT/infra/inspect/pom.xml" avro.version)/avro-tools.jar"
java=$(pick_java 11)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Coordinates of the first COUNT messages (partition offset key), then each value on its own.
"$kcat" -b "$brokers" -C -t "$topic" -o beginning -e -q -c "$count" -f '%p %o %k\n' >"$work/index"
[ -s "$work/index" ] || { echo "$topic has no messages"; exit 0; }
while read -r partition offset key; do
  "$kcat" -b "$brokers" -C -t "$topic" -p "$partition" -o "$offset" -c 1 -e -q -f '%s' >"$work/value"
  magic=$(od -An -tu1 -N1 "$work/value" | tr -d ' ')
  schema_id=$(od -An -tu1 -j1 -N4 "$work/value" | awk '{print ($1*16777216)+($2*65536)+($3*256)+$4}')
  printf '%s[%s]@%s key=%s magic=%s schema-id=%s\n' "$topic" "$partition" "$offset" "$key" "$magic" "$schema_id"
  curl -fsS "$registry/schemas/ids/$schema_id/schema" >"$work/schema.avsc"
  tail -c +6 "$work/value" >"$work/body"
  "$java" -jar "$avro_tools" fragtojson --schema-file "$work/schema.avsc" "$work/body" 2>/dev/null
done <"$work/index"
