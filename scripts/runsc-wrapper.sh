#!/bin/sh
# The OCI runtime binary that the containerd runc v2 shim runs for `fsb-agent --runtime gvisor`
# (its runc Options.binary_name; fsb-agent's default --runsc-binary). The shim passes runc-style
# arguments (--root, --log, --log-format, create --bundle ... ID, start, kill, delete, state, ps),
# which runsc accepts as they are. Debian 12's runsc has no containerd shim and no CNI setup here,
# so gVisor runs with no network (the agent gives each gvisor sandbox an empty network namespace).
# Platform: runsc's default, ptrace (no systrap in this version); --platform=kvm hangs at boot on
# this VM (nested virtualisation), and cgroups work as they are (no --ignore-cgroups needed).
exec runsc --network=none "$@"
