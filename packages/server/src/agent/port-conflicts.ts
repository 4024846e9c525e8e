/**
 * Exposed ports a sandbox could not listen on: something already listens on them in the network it
 * would join, or it has no network at all (gVisor but in isolated mode). Read from /proc/<pid>/net/tcp and tcp6.
 */
import { readFile } from "node:fs/promises";
import { ErrorCode, FsbError, type NetworkModeName } from "@fast-sandbox/api";
import type { NetworkMode, RuntimeType } from "./agent-config.ts";

/** `st` of a socket in LISTEN state in /proc/net/tcp (include/net/tcp_states.h: TCP_LISTEN = 10). */
const TCP_LISTEN = "0A";

/**
 * The local ports of the LISTEN sockets in one /proc/net/tcp or tcp6 table. Each line after the
 * header is `sl local_address rem_address st ...`, the local address `HEXIP:HEXPORT` (the IPv6 one
 * 32 hex digits long). Lines that do not have that shape are skipped. Pure.
 */
export function parseListeningPorts(table: string): Set<number> {
  const ports = new Set<number>();
  for (const line of table.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    if (fields.length < 4 || fields[3] !== TCP_LISTEN || local === undefined) continue;
    const hex = local.slice(local.lastIndexOf(":") + 1);
    if (!/^[0-9A-Fa-f]{1,4}$/.test(hex)) continue;
    ports.add(Number.parseInt(hex, 16));
  }
  return ports;
}

/**
 * The /proc directory whose net/ tables show the network a sandbox joins: the agent's own
 * namespace, or the host's (PID 1's: agents run with the host's PID namespace). Undefined for a
 * namespace given by path, which this process cannot read without entering it.
 */
export function procDirOf(network: NetworkMode): string | undefined {
  switch (network.kind) {
    case "agent":
      return "/proc/self";
    case "host":
      return "/proc/1";
    case "path":
      return undefined;
  }
}

/** The ports something listens on (TCP, IPv4 and IPv6) as `procDir`'s net tables show them; a missing table counts as empty. */
export async function listeningPorts(procDir: string): Promise<Set<number>> {
  const tables = await Promise.all(
    ["tcp", "tcp6"].map((name) => readFile(`${procDir}/net/${name}`, "utf8").catch(() => "")),
  );
  return new Set(tables.flatMap((t) => [...parseListeningPorts(t)]));
}

/**
 * gVisor sandboxes but isolated ones have loopback only (build-oci-spec.ts), so a port there is
 * unreachable; an isolated one is reached at its own address, as under runc. Pure.
 */
export function gvisorPortsError(
  runtime: RuntimeType,
  mode: NetworkModeName,
  exposedPorts: readonly number[],
): FsbError | undefined {
  if (runtime !== "gvisor" || mode === "isolated" || exposedPorts.length === 0) return undefined;
  return new FsbError(
    ErrorCode.FailedPrecondition,
    `this agent runs gVisor sandboxes, which in network mode ${mode} have loopback only, so their ports ` +
      "cannot be reached; use network mode isolated",
    { field: "sandbox.exposedPorts" },
  );
}

/**
 * The first exposed port that something already listens on, as FAILED_PRECONDITION naming it
 * (`sandbox.exposedPorts[i]`), or undefined. Such a process did not declare the port, or the
 * controller would not have placed this sandbox here; until sandboxes get networks of their own
 * they share this one, and the sandbox could not bind the port. Pure.
 */
export function portInUseError(
  exposedPorts: readonly number[],
  listening: ReadonlySet<number>,
  nodeName: string,
): FsbError | undefined {
  const index = exposedPorts.findIndex((port) => listening.has(port));
  if (index < 0) return undefined;
  return new FsbError(
    ErrorCode.FailedPrecondition,
    `port ${exposedPorts[index]} is already in use on node ${nodeName} by a process that did not declare it; ` +
      "sandboxes share the node's network until network isolation lands, so this one could not listen on it",
    { field: `sandbox.exposedPorts[${index}]` },
  );
}
