#!/usr/bin/env bash
# One-time (and idempotent) setup for `npm start` and `npm test` on Debian 12 as root:
# system packages, npm dependencies with the pinned Node 24, the local test image and bin/.
# A second run checks, finds everything in place, and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# iproute2 and nftables build isolated sandbox networks (namespaces, veths, the agent's firewall).
APT_PACKAGES=(containerd runc runsc busybox-static umoci tmux iproute2 nftables)
say() { printf '[setup] %s\n' "$*" >&2; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
# kubectl renders the deploy/ kustomization in the manifest checks. Any kubectl will do; Debian's
# kubernetes-client is installed only when none is on the PATH (it would clash with another package's).
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
# The Python SDK's tests (test/e2e/python-sdk.test.ts) run python3 (3.9 or later; Debian 12 has 3.11);
# any python3 on the PATH will do.
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing system packages: ${missing[*]}; run as root or install them with apt-get"
    exit 1
  fi
  say "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm dependencies, including the pinned Node 24 toolchain (the `node` devDependency).
# The stamp records which lockfile node_modules was installed from.
stamp=node_modules/.fsb-setup-stamp
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -x node_modules/.bin/node ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

# The local test image, built from Debian's busybox-static (no registry is reachable).
bash scripts/build-test-image.sh .fsb-dev/images/busybox-oci.tar

make --no-print-directory --silent build
