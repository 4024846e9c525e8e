/** How one agent's containers are grouped on the node: one runc shim and one cgroup subtree per agent. */

/** The shim group of an agent's containers: all of its sandboxes (and its anchor) share the shim named after it. */
export function shimGroup(agentId: string): string {
  return `fsb-${agentId}`;
}

/** The cgroup of container `containerId`: one subtree per agent keeps its sandboxes' accounting together. */
export function agentCgroupsPath(agentId: string, containerId: string): string {
  return `/fast-sandbox/${agentId}/${containerId}`;
}
