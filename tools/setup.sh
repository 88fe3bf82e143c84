#!/usr/bin/env bash
# One-time set-up for the tests and the demo on a Debian or Ubuntu machine that has only the .NET SDK:
# the haproxy, caddy and redis-server packages the tests and the demo start on free loopback ports, and
# the pinned pwsh (.config/dotnet-tools.json). Pester comes from NuGet with the test project's restore.
# Quick and silent when everything is present, so every build may call it.
# Used by .ci/run, the test project (before its build) and tools/Demo.
set -euo pipefail
cd "$(dirname "$0")/.."

# One set-up at a time: a solution build runs this from two projects at once, and apt-get holds a lock.
exec 9>"${TMPDIR:-/tmp}/lbtools-setup.lock"
flock 9

need=()
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v caddy >/dev/null 2>&1 || [ -x /usr/bin/caddy ] || need+=(caddy)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: the tests and the demo need ${need[*]}, which are not installed. Install them as root with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]} from the distribution's packages"
  apt-get update -qq
  # policy-rc.d exit 101 keeps the packages from starting their system services: the tests start their
  # own processes on free loopback ports and stop only those, by process id. A policy that already
  # exists is the machine's own and is left as it is; nothing already running is stopped or killed.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; created_policy=1; fi
  trap 'if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi' EXIT
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# pwsh: the tool manifest pins 7.6.9; restoring takes a fraction of a second once it is in the NuGet cache.
dotnet tool restore >/dev/null
