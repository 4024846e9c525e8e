#!/bin/sh
# The OCI runtime binary that the containerd runc v2 shim runs for `fsb-agent --runtime gvisor`
# (its runc Options.binary_name; fsb-agent's default --runsc-binary). The shim passes runc-style
# arguments (--root, --log, --log-format, create --bundle ... ID, start, kill, delete, state, ps),
# which runsc accepts as they are. Debian 12's runsc has no containerd shim, hence this wrapper.
# Platform: runsc's default, ptrace (no systrap in this version); --platform=kvm hangs at boot on
# this VM (nested virtualisation), and cgroups work as they are (no --ignore-cgroups needed).
#
# The network follows the container's spec, which the shim's create and start name (the bundle
# of --bundle, or the directory of the shim's --log, which it keeps in the bundle):
# - a network namespace given by path (an isolated sandbox's, prepared by the agent): runsc's own
#   network stack (--network=sandbox). create starts the sandbox in that namespace; start takes over
#   its interface, addresses and routes, and sends and receives the sandbox's packets on its veth,
#   where the agent's firewall sees them as it sees runc sandboxes'. runsc moves the addresses off
#   the veth, so the host kernel holds none in that namespace;
# - no path (modes none and agent): --network=none, a new namespace with runsc's loopback only.
# The other subcommands (exec, kill, state, delete, ps) do not look at --network.
#
# runsc 20221219 refuses its network stack in what it takes for the host's namespace: one where
# /proc/sys/net/core/rmem_default exists, which since Linux 6.11 (those sysctls are per namespace)
# is every namespace (gVisor issue 10704). So the check is done here instead (the namespace must be
# neither the host's, PID 1's, nor this process's, the shim's), and start, which runs runsc's check,
# runs in a mount namespace of its own in which an empty tmpfs hides /proc/sys/net. That process
# only hands the sandbox its network and exits; the sandbox's own processes, made by create, stay in
# the host's mount namespace. Needs util-linux (unshare, mount) on the node.
#
# Installed as it is on Kubernetes nodes by scripts/install-runsc.sh, with runsc beside it.
#
# Every exec'd process runs through here, so this forks nothing on the way to runsc but on a
# sandbox network's start (builtins and parameter expansion only: a fork is milliseconds).
set -eu
runsc=runsc
if [ -x "${0%/*}/runsc" ]; then runsc="${0%/*}/runsc"; fi

# The subcommand follows the global flags the shim passes (--root, --log, --log-format, booleans).
subcommand=
bundle=
log=
previous=
for arg in "$@"; do
  case "$previous" in
    --root | -root | --log-format | -log-format) previous= && continue ;;
    --log | -log) log=$arg && previous= && continue ;;
    --bundle | -bundle) bundle=$arg ;;
  esac
  case "$arg" in
    --bundle=* | -bundle=*) bundle=${arg#*=} ;;
    --log=* | -log=*) [ -n "$subcommand" ] || log=${arg#*=} ;;
    -*) ;;
    *) [ -n "$subcommand" ] || subcommand=$arg ;;
  esac
  previous=$arg
done
case "$subcommand" in
  create | start | run) ;;
  *) exec "$runsc" --network=none "$@" ;;
esac
if [ -z "$bundle" ] && [ -n "$log" ]; then bundle=${log%/*}; fi

# The path of the spec's network namespace; nothing when it has none or no path. The spec is the
# agent's JSON on one line, its network entry written as {"type":"network","path":"..."}
# (linux-options.ts); a quote inside a string value is escaped there, so cannot match.
config=
if [ -n "$bundle" ] && [ -r "$bundle/config.json" ]; then IFS= read -r config <"$bundle/config.json" || :; fi
netns=
case $config in
  *'{"type":"network","path":"'*)
    netns=${config#*\{\"type\":\"network\",\"path\":\"}
    netns=${netns%%\"*}
    ;;
esac
if [ -z "$netns" ]; then exec "$runsc" --network=none "$@"; fi

if [ ! -e "$netns" ]; then
  echo "runsc-wrapper: no network namespace at $netns" >&2
  exit 1
fi
# -ef: the same file, so the same namespace. PID 1's may be unreadable where the runtime is not the
# host's root; the shim's own (this process's) is checked then.
if [ "$netns" -ef /proc/1/ns/net ] || [ "$netns" -ef "/proc/$$/ns/net" ]; then
  echo "runsc-wrapper: refusing gVisor's network stack in $netns, the host's or the runtime's own namespace: it would take that namespace's addresses" >&2
  exit 1
fi
if [ "$subcommand" = create ]; then exec "$runsc" --network=sandbox "$@"; fi
exec unshare --mount --propagation slave -- /bin/sh -c \
  'mount -t tmpfs -o ro,size=4k fsb-hide-net-sysctls /proc/sys/net && exec "$@"' \
  runsc-wrapper "$runsc" --network=sandbox "$@"
