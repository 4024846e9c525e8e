/** The commented YAML that `fsb-ctl run NAME` opens in the editor when there is no earlier edit. */
import { SANDBOX_API_VERSION } from "./sandbox-manifest.ts";

/** A template that works as is (save and quit creates a busybox sandbox), with every setting shown. */
export function runTemplate(name: string, namespace: string): string {
  return `# Sandbox "${name}" in namespace "${namespace}". Save and quit to create it; empty the file to cancel.
# Lines starting with # are ignored. The same YAML works with \`fsb-ctl run -f FILE\`, and so does
# the declarative form (apiVersion: ${SANDBOX_API_VERSION}, kind: Sandbox, metadata, spec).

# The image to run; agents start only images their containerd already holds.
image: busybox

# The entrypoint and its arguments (they replace the image's); both optional.
command: ["sh", "-c", "echo hello from ${name}; sleep 3600"]
# args: []

# Environment variables.
# env:
#   GREETING: hello

# Ports the sandbox listens on; each one becomes an endpoint (ip:port).
# ports: [8080]

# The working directory inside the sandbox.
# workdir: /

# The pool whose agents run it.
# pool: default-pool

# fast: the answer comes once the container runs; strong: once the sandbox is also recorded.
# mode: fast

# On failure: Manual (it stays Failed) or AutoRecreate (a new container, within recoveryTimeout).
# failurePolicy: Manual
# recoveryTimeout: 60s

# Expiry: delete it after this long (30s, 10m, 2h) or at a time (2030-01-01T00:00:00Z); unset: never.
# expireIn: 1h

# Labels, for \`fsb-ctl list -l key=value\`.
# labels:
#   team: a
`;
}
