#!/bin/sh
# Installs gVisor's runsc and a wrapper for it into DIR, a hostPath directory of the node, for
# `fsb-agent --runtime gvisor` in Kubernetes (the agent Pod's init container runs this). The runc
# shim that execs the wrapper is a host process of the node's containerd, so both must be host
# paths: the copies in the image are invisible to it. The wrapper does what scripts/runsc-wrapper.sh
# does (gVisor behind the runc shim with no network), with runsc's absolute path, because the
# shim's PATH is containerd's. Debian's runsc is statically linked, so it runs on any node.
set -eu
dir=${1:?usage: install-runsc.sh DIR}
runsc=$(command -v runsc)
mkdir -p "$dir"
# Copy, then rename over the old file: a runsc that running sandboxes use cannot be overwritten
# in place (ETXTBSY), but it can be replaced.
cp "$runsc" "$dir/.runsc.$$"
chmod 0755 "$dir/.runsc.$$"
mv -f "$dir/.runsc.$$" "$dir/runsc"
cat >"$dir/.runsc-wrapper.sh.$$" <<WRAPPER
#!/bin/sh
# Installed by fast-sandbox (scripts/install-runsc.sh): the OCI runtime the runc shim runs for gvisor sandboxes.
exec $dir/runsc --network=none "\$@"
WRAPPER
chmod 0755 "$dir/.runsc-wrapper.sh.$$"
mv -f "$dir/.runsc-wrapper.sh.$$" "$dir/runsc-wrapper.sh"
echo "installed $dir/runsc and $dir/runsc-wrapper.sh"
