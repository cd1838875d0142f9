#!/usr/bin/env bash
# Checks the deployment files with the real tools, built from their Go modules (no Docker engine needed):
#   - infra/helm/rstwatch: `helm lint` and `helm template` (default values, and every optional part on);
#   - infra/compose/docker-compose.yml: compose-spec's own loader (schema + interpolation), as Docker
#     Compose loads it (infra/tools/composecheck).
# Tools are built once into infra/.tools/bin (git-ignored). Exits non-zero on the first invalid file.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/.tools/bin"
mkdir -p "$bin"
HELM_VERSION=v3.16.4
if ! [ -x "$bin/helm" ] || ! "$bin/helm" version --short 2>/dev/null | grep -q "$HELM_VERSION"; then
  echo "check-deploy: building helm $HELM_VERSION from its Go module (once)" >&2
  GOBIN="$bin" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi
if ! [ -x "$bin/composecheck" ] || [ "$here/tools/composecheck/main.go" -nt "$bin/composecheck" ]; then
  echo "check-deploy: building composecheck (compose-spec loader)" >&2
  (cd "$here/tools/composecheck" && go build -o "$bin/composecheck" .)
fi

chart="$here/helm/rstwatch"
"$bin/helm" lint "$chart"
"$bin/helm" template rstwatch "$chart" > /dev/null
# Every optional part on: the rendered manifests must still be valid.
"$bin/helm" lint "$chart" --set detect.enabled=true --set alerts.webhook.url=https://siem.example/hook \
  --set alerts.syslog.url=tls://syslog.example:6514
"$bin/helm" template rstwatch "$chart" --set detect.enabled=true > /dev/null
"$bin/composecheck" "$here/compose/docker-compose.yml"
echo "check-deploy: ok"
