# syntax=docker/dockerfile:1
# One image for every Fast Sandbox component. The manifests choose the entry point with `command:`
# (fsb-controller, fsb-agent, fsb-janitor; fsb-ctl is here too). Node 24 runs the TypeScript
# sources as they are (type stripping), so there is no build step.
#
#   docker build -t fast-sandbox:0.1.0 .
#
# The default user is uid 1000 (the base image's `node`), which is what fsb-controller runs as. The
# agent and the janitor need root (the containerd socket, root-owned files on the node) and ask for
# it in their Pod specs (runAsUser: 0).
FROM node:24-bookworm-slim

# runsc (gVisor) for `fsb-agent --runtime gvisor`: the agent Pod's init container copies it and a
# wrapper onto the node with scripts/install-runsc.sh, where containerd's runc shim can run it.
# busybox-static (/bin/busybox) for the agent's shim anchor: the agent copies it into a hostPath
# directory as the anchor's whole rootfs (agent/anchor-rootfs.ts), which a static binary allows.
# iproute2 and nftables for isolated sandbox networks (namespaces, veths, the agent's firewall).
RUN apt-get update \
 && apt-get install -y --no-install-recommends runsc busybox-static iproute2 nftables \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production

# The production dependencies of every workspace, from the lockfile; a source change keeps this layer.
COPY package.json package-lock.json ./
COPY packages/api/package.json packages/api/
COPY packages/cli/package.json packages/cli/
COPY packages/sdk/package.json packages/sdk/
COPY packages/server/package.json packages/server/
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

# Sources and generated code (the .dockerignore leaves tests out). The root package.json above
# gives the version every component reports.
COPY packages/ packages/
COPY scripts/runsc-wrapper.sh scripts/install-runsc.sh scripts/

# Entry points on PATH. bin/ launchers (make build) use the repository's pinned node_modules/.bin/node;
# in the image the system Node 24 runs the same entry files.
RUN set -eu; \
    for entry in fsb-controller fsb-agent fsb-janitor fsb-ctl; do \
      source=$(ls packages/*/src/bin/"$entry".ts); \
      printf '#!/bin/sh\nexec node /app/%s "$@"\n' "$source" >/usr/local/bin/"$entry"; \
      chmod 0755 /usr/local/bin/"$entry"; \
    done; \
    fsb-controller --help >/dev/null

USER 1000:1000
CMD ["fsb-controller", "--help"]
