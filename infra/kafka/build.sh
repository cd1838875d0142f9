#!/usr/bin/env bash
# Assembles the local Apache Kafka (official jars from Maven Central) into target/lib.
# Idempotent and quiet: does nothing when target/lib matches pom.xml; prints Maven's log only on failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lib="$here/target/lib"
stamp="$here/target/lib.stamp"

want="$(sha256sum "$here/pom.xml" "$here/build.sh" | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$lib" ]; then
  exit 0
fi

for cmd in java mvn; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    echo "infra/kafka/build.sh: '$cmd' not found; install a JDK 17+ and Maven (Debian: apt-get install openjdk-17-jdk-headless maven)" >&2
    exit 1
  fi
done
java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
if [ "${java_major%%.*}" -lt 17 ] 2>/dev/null; then
  echo "infra/kafka/build.sh: Kafka 4 needs Java 17+, found java.specification.version=$java_major" >&2
  exit 1
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
rm -rf "$lib" "$stamp" "$here"/target/kafka-cds.jsa*
if ! mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies \
  -DoutputDirectory="$lib" -DincludeScope=runtime >"$log" 2>&1; then
  cat "$log" >&2
  echo "infra/kafka/build.sh: Maven failed to resolve the Kafka jars (see above)" >&2
  exit 1
fi
echo "$want" >"$stamp"
