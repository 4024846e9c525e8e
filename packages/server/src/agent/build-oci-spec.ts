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
import { type SeccompSetting, seccompOption } from "./seccomp-setting.ts";

/** The agent-level facts that shape every sandbox's spec. */
export interface SpecContext {
  agentId: string;
  runtime: RuntimeType;
  network: NetworkMode;
  seccomp: SeccompSetting;
  /** PID whose network namespace "agent" mode joins: the agent's own. */
  agentPid: number;
  /** Host path of the node's static busybox, mounted read-only at /.fsb/busybox; none when undefined. */
  busybox?: string | undefined;
}

/** The network one sandbox gets: the agent's (see {@link SpecContext.network}), a fresh empty one, or a prepared one. */
export type SandboxNetworking =
  | { mode: "agent" }
  | { mode: "none" }
  | { mode: "isolated"; netnsPath: string };

/** The context of this agent process: its own network namespace is the one "agent" mode joins. */
export function specContextOf(
  config: Pick<AgentConfig, "agentId" | "runtime" | "network" | "seccomp">,
  busybox?: string,
): SpecContext {
  return {
    agentId: config.agentId,
    runtime: config.runtime,
    network: config.network,
    seccomp: config.seccomp,
    agentPid: process.pid,
    busybox,
  };
}

/** Builds and validates the spec; throws INVALID_ARGUMENT/FAILED_PRECONDITION before containerd sees it. */
export function buildSandboxOciSpec(
  spec: AgentSandboxSpec,
  image: ImageConfig,
  context: SpecContext,
  network: SandboxNetworking = { mode: "agent" },
): OciSpec {
  const options: SpecOption[] = [
    withImageConfig(image, {
      command: spec.command,
      args: spec.args,
      env: spec.env,
      ...(spec.workingDir ? { workingDir: spec.workingDir } : {}),
    }),
    withHostname(spec.name),
    networkOption(context, network),
    withResources(spec.resources),
    withCgroupsPath(agentCgroupsPath(context.agentId, spec.sandboxId)),
    withShimGroup(shimGroup(context.agentId)),
    seccompOption(context.seccomp, context.runtime),
  ];
  if (context.busybox) {
    options.push(withBindMount({ source: context.busybox, destination: BUSYBOX_IN_SANDBOX, readonly: true }));
  }
  const oci = buildSpec(...options);
  validateSpec(oci);
  return oci;
}

/**
 * Under gVisor the runsc wrapper (scripts/runsc-wrapper.sh) reads this from the spec: a namespace
 * given by path gets runsc's own network stack in it, any other runsc's loopback only. So gVisor's
 * agent mode is loopback only too: runsc's stack would take the agent's addresses off its interfaces,
 * and runsc's host network would hand the sandbox the host kernel's stack, gVisor's point undone.
 */
function networkOption(context: SpecContext, network: SandboxNetworking): SpecOption {
  if (network.mode === "isolated") return withNetworkNamespace(network.netnsPath);
  // runc makes the namespace and brings its loopback up; runsc makes a loopback of its own.
  if (network.mode === "none" || context.runtime === "gvisor") return withNewNetworkNamespace();
  switch (context.network.kind) {
    case "host":
      return withHostNetwork();
    case "path":
      return withNetworkNamespace(context.network.path);
    case "agent":
      return withNetworkNamespace(`/proc/${context.agentPid}/ns/net`);
  }
}
