#!/bin/sh
# Installs gVisor's runsc and a wrapper for it into DIR, a hostPath directory of the node, for
# `fsb-agent --runtime gvisor` in Kubernetes (the agent Pod's init container runs this). The runc
# shim that execs the wrapper is a host process of the node's containerd, so both must be host
# paths: the copies in the image are invisible to it. The wrapper is scripts/runsc-wrapper.sh as it
# is, the one standalone agents run: it prefers the runsc beside it to the shim's PATH (containerd's).
# Debian's runsc is statically linked, so it runs on any node.
set -eu
dir=${1:?usage: install-runsc.sh DIR}
runsc=$(command -v runsc)
wrapper="$(dirname "$0")/runsc-wrapper.sh"
mkdir -p "$dir"
# Copy, then rename over the old file: a runsc that running sandboxes use cannot be overwritten
# in place (ETXTBSY), but it can be replaced.
cp "$runsc" "$dir/.runsc.$$"
chmod 0755 "$dir/.runsc.$$"
mv -f "$dir/.runsc.$$" "$dir/runsc"
cp "$wrapper" "$dir/.runsc-wrapper.sh.$$"
chmod 0755 "$dir/.runsc-wrapper.sh.$$"
mv -f "$dir/.runsc-wrapper.sh.$$" "$dir/runsc-wrapper.sh"
echo "installed $dir/runsc and $dir/runsc-wrapper.sh"
