#!/usr/bin/env bash
# ops/custos.service passes `systemd-analyze verify` with the custos executable where the unit
# expects it (a copy of the unit pointing at this build's binary), and says nothing else.
set -euo pipefail
binary="$1"
unit_dir=$(mktemp -d)
trap 'rm -rf "$unit_dir"' EXIT
sed "s|/usr/local/bin/custos|$binary|" "$(dirname "$0")/../../ops/custos.service" \
  > "$unit_dir/custos.service"
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$unit_dir/custos.service" 2>&1 || true)
if [ -n "$out" ]; then
  echo "systemd-analyze verify ops/custos.service:" >&2
  echo "$out" >&2
  exit 1
fi
grep -q '^ExecStart=.* serve --config /etc/custos/custos.conf$' "$unit_dir/custos.service"
echo ok
