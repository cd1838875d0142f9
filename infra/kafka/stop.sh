#!/usr/bin/env bash
# Stops the local broker started by start.sh for DIR: SIGTERM (clean shutdown), then SIGKILL of that
# pid only after --timeout seconds. Usage: stop.sh [--dir DIR] [--timeout 30]. Not running: exits 0.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$here/data"
timeout_s=30
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    -h | --help) sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "stop.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
pidfile="$dir/kafka.pid"
[ -f "$pidfile" ] || exit 0
pid="$(cat "$pidfile")"
# Only signal the pid if it is still our broker (pids get reused).
if ! kill -0 "$pid" 2>/dev/null || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
  rm -f "$pidfile"
  exit 0
fi
kill -TERM "$pid" 2>/dev/null || true
deadline=$((SECONDS + timeout_s))
while kill -0 "$pid" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "infra/kafka/stop.sh: broker pid $pid did not stop within ${timeout_s}s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.1
done
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
rm -f "$pidfile"
# A class-data archive dumped at exit (see start.sh) becomes the shared one, unless one exists already.
if [ -f "$dir/cds.pending" ]; then
  tmp="$(cat "$dir/cds.pending")"
  rm -f "$dir/cds.pending"
  if [ -s "$tmp" ] && [ ! -f "$here/target/kafka-cds.jsa" ]; then mv -f "$tmp" "$here/target/kafka-cds.jsa"; else rm -f "$tmp"; fi
fi
