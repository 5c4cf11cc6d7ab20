#!/usr/bin/env bash
# Installs the inspection tools nobody here wrote: kcat (Debian package kafkacat) and avro-tools.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

if ! command -v kcat >/dev/null && ! command -v kafkacat >/dev/null; then
  [ "$(id -u)" = 0 ] || die kcat "not installed; run as root: apt-get install -y kafkacat"
  say "installing kcat (Debian package kafkacat)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kafkacat; } >"$LOGS/kcat-install.log" 2>&1 \
    || die kcat "apt-get could not install kafkacat" "$LOGS/kcat-install.log"
fi
avro_version=$(pom_property "$ROOT/infra/inspect/pom.xml" avro.version)
mvn_fetch avro-tools "$ROOT/infra/inspect/pom.xml" dependency:copy "$DIST/avro-tools-$avro_version"
