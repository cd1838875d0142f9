#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (idempotent, quick when done already):
# capture and traffic tools from Debian's packages, and the local Apache Kafka built from Maven Central.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

need=()
for pair in tcpdump:tcpdump tshark:tshark nmap:nmap iptables:iptables ip:iproute2 hping3:hping3 ethtool:ethtool promtool:prometheus chromium:chromium; do
  cmd="${pair%%:*}"; pkg="${pair#*:}"
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
python3 -c 'import scapy' >/dev/null 2>&1 || need+=(python3-scapy)
# Alert sink tests (test/alerts): a private rsyslogd over UDP, TCP and TLS (gtls driver), certificates by openssl.
command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ] || need+=(rsyslog)
[ -e "/usr/lib/$(uname -m)-linux-gnu/rsyslog/lmnsd_gtls.so" ] || need+=(rsyslog-gnutls)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The local Kafka (infra/kafka) needs a JDK 17+ and Maven, unless KAFKA_BROKERS points at a broker.
if [ -z "${KAFKA_BROKERS:-}" ]; then
  command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || need+=(maven)
fi
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-prereqs: missing Debian packages: ${need[*]} (run as root, or install them: apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "test-prereqs: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ -x "$here/kafka/build.sh" ] && [ -z "${KAFKA_BROKERS:-}" ]; then
  "$here/kafka/build.sh"
fi
