/** Maps a Sandbox object onto the agent's create request (`POST /api/v1/agent/create`, docs/agent-api.md). */
import { normalizeSandboxSpec, type Sandbox } from "@fast-sandbox/api";
import type { AgentCreateRequest } from "./agent-api.ts";

export function agentCreateRequest(sandbox: Sandbox, sandboxId: string): AgentCreateRequest {
  const spec = normalizeSandboxSpec(sandbox.spec);
  const request: AgentCreateRequest = {
    sandboxId,
    name: sandbox.metadata.name,
    namespace: sandbox.metadata.namespace,
    pool: spec.poolRef,
    image: spec.image,
  };
  if (sandbox.metadata.uid) request.uid = sandbox.metadata.uid;
  if (spec.command) request.command = spec.command;
  if (spec.args) request.args = spec.args;
  if (spec.env) request.env = Object.fromEntries(spec.env.map((e) => [e.name, e.value]));
  if (spec.workingDir) request.workingDir = spec.workingDir;
  if (spec.exposedPorts) request.exposedPorts = spec.exposedPorts;
  if (spec.resources) request.resources = spec.resources;
  if (spec.network) request.network = spec.network;
  return request;
}
