# Shared helpers for infra/stack.sh and the component scripts. Sourced, never run.
# Everything the stack writes lives under var/ (git-ignored): dist/ (downloads), data/, log/, run/.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VAR="$ROOT/var"
DIST="$VAR/dist"
DATA="$VAR/data"
LOGS="$VAR/log"
RUN="$VAR/run"
mkdir -p "$DIST" "$DATA" "$LOGS" "$RUN"

# say MESSAGE — progress line on stderr so that stdout stays a clean table.
say() { printf '%s\n' "$*" >&2; }

# die COMPONENT MESSAGE [LOGFILE] — names the component, prints the end of its log, exits 1.
die() {
  local component=$1 message=$2 log=${3:-}
  printf '\n✗ %s: %s\n' "$component" "$message" >&2
  if [ -n "$log" ] && [ -f "$log" ]; then
    printf -- '--- last 40 lines of %s ---\n' "$log" >&2
    tail -n 40 "$log" >&2
    printf -- '---\n' >&2
  fi
  exit 1
}

# port_open HOST PORT — true when something accepts TCP connections there.
port_open() { timeout 1 bash -c ">/dev/tcp/$1/$2" 2>/dev/null; }

# http_ok URL — true when the URL answers 2xx.
http_ok() { curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; }

# wait_until COMPONENT SECONDS LOGFILE CHECK... — polls CHECK once a second; dies with the log on timeout.
wait_until() {
  local component=$1 seconds=$2 log=$3; shift 3
  local pidfile="$RUN/$component.pid" i
  for ((i = 0; i < seconds; i++)); do
    "$@" && return 0
    if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      die "$component" "the process exited during start-up" "$log"
    fi
    sleep 1
  done
  die "$component" "not healthy after ${seconds}s" "$log"
}

# pid_alive COMPONENT — true when the pid file names a live process.
pid_alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# stop_pid COMPONENT [SECONDS] — SIGTERM, wait, then SIGKILL; removes the pid file.
stop_pid() {
  local component=$1 seconds=${2:-30} pid i
  [ -f "$RUN/$component.pid" ] || return 0
  pid=$(cat "$RUN/$component.pid")
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping $component (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < seconds; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$RUN/$component.pid"
}

# java_major JAVA — major version of a java binary (17, 21, 25 …).
java_major() { "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}'; }

# pick_java MIN — prints the path of a java binary of at least major MIN: $JAVA_HOME, the default java,
# then the JDKs under /usr/lib/jvm. Prints nothing when none fits.
pick_java() {
  local min=$1 candidate major
  for candidate in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java 2>/dev/null)" /usr/lib/jvm/*/bin/java; do
    [ -x "$candidate" ] || continue
    major=$(java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge "$min" ]; then printf '%s\n' "$candidate"; return 0; fi
  done
}

# pom_property POM NAME — reads a <NAME>value</NAME> property from a pom (our poms pin versions there).
pom_property() { sed -n "s:.*<$2>\(.*\)</$2>.*:\1:p" "$1" | head -n 1; }

# mvn_fetch COMPONENT POM GOAL DEST — runs Maven once per pinned version; a stamp marks completion.
mvn_fetch() {
  local component=$1 pom=$2 goal=$3 dest=$4
  [ -f "$dest/.fetched" ] && return 0
  command -v mvn >/dev/null || die "$component" "Maven (mvn) is not installed: apt-get install -y maven"
  say "fetching $component from Maven Central into ${dest#"$ROOT"/}"
  mkdir -p "$dest"
  mvn -B -q -f "$pom" "$goal" -Ddest.dir="$dest" >"$LOGS/$component-fetch.log" 2>&1 \
    || die "$component" "Maven could not fetch it" "$LOGS/$component-fetch.log"
  touch "$dest/.fetched"
}

# start_detached COMPONENT LOGFILE COMMAND... — runs COMMAND in its own session, records its pid.
start_detached() {
  local component=$1 log=$2; shift 2
  setsid nohup "$@" >>"$log" 2>&1 < /dev/null &
  echo $! >"$RUN/$component.pid"
}
