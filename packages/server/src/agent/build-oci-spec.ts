/** Turns a sandbox request and its image into the OCI spec the container runs with (pure). */
import { agentCgroupsPath, shimGroup } from "../containerd/agent-grouping.ts";
import type { ImageConfig } from "../containerd/image-config-option.ts";
import { withImageConfig } from "../containerd/image-config-option.ts";
import {
  withCgroupsPath,
  withHostNetwork,
  withNetworkNamespace,
  withNewNetworkNamespace,
  withResources,
} from "../containerd/linux-options.ts";
import { buildSpec, type OciSpec, type SpecOption } from "../containerd/oci-spec.ts";
import { withBindMount, withHostname, withShimGroup } from "../containerd/spec-options.ts";
import { validateSpec } from "../containerd/validate-spec.ts";
import type { AgentConfig, NetworkMode, RuntimeType } from "./agent-config.ts";
import type { AgentSandboxSpec } from "./sandbox-spec.ts";
import { BUSYBOX_IN_SANDBOX } from "./sandbox-tools.ts";

/** The agent-level facts that shape every sandbox's spec. */
export interface SpecContext {
  agentId: string;
  runtime: RuntimeType;
  network: NetworkMode;
  /** PID whose network namespace "agent" mode joins: the agent's own. */
  agentPid: number;
  /** Host path of the node's static busybox, mounted read-only at /.fsb/busybox; none when undefined. */
  busybox?: string | undefined;
}

/** The context of this agent process: its own network namespace is the one "agent" mode joins. */
export function specContextOf(
  config: Pick<AgentConfig, "agentId" | "runtime" | "network">,
  busybox?: string,
): SpecContext {
  return {
    agentId: config.agentId,
    runtime: config.runtime,
    network: config.network,
    agentPid: process.pid,
    busybox,
  };
}

/** Builds and validates the spec; throws INVALID_ARGUMENT/FAILED_PRECONDITION before containerd sees it. */
export function buildSandboxOciSpec(
  spec: AgentSandboxSpec,
  image: ImageConfig,
  context: SpecContext,
): OciSpec {
  const options: SpecOption[] = [
    withImageConfig(image, {
      command: spec.command,
      args: spec.args,
      env: spec.env,
      ...(spec.workingDir ? { workingDir: spec.workingDir } : {}),
    }),
    withHostname(spec.name),
    networkOption(context),
    withResources(spec.resources),
    withCgroupsPath(agentCgroupsPath(context.agentId, spec.sandboxId)),
    withShimGroup(shimGroup(context.agentId)),
  ];
  if (context.busybox) {
    options.push(withBindMount({ source: context.busybox, destination: BUSYBOX_IN_SANDBOX, readonly: true }));
  }
  const oci = buildSpec(...options);
  validateSpec(oci);
  return oci;
}

function networkOption(context: SpecContext): SpecOption {
  // gVisor runs only with its own, empty network namespace here (its netstack cannot join the host's).
  if (context.runtime === "gvisor") return withNewNetworkNamespace();
  switch (context.network.kind) {
    case "host":
      return withHostNetwork();
    case "path":
      return withNetworkNamespace(context.network.path);
    case "agent":
      return withNetworkNamespace(`/proc/${context.agentPid}/ns/net`);
  }
}
