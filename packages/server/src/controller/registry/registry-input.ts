/** Checks of what callers hand the registry: agent info from registrations and probes, requested ports. */
import { invalidArgument } from "@fast-sandbox/api";
import type { AgentInfo } from "./agent-info.ts";
import type { ImageNameCache } from "./image-name-cache.ts";

const MIN_PORT = 1;
const MAX_PORT = 65_535;

/** An agent's info, checked, with its images normalised and its ready prewarm counts kept. */
export interface CheckedAgent {
  id: string;
  address: string;
  /** Normalised references; names that are not valid references are dropped (they can never match). */
  images: Set<string>;
  /** Only keys with a count above 0. */
  prewarm: Map<string, number>;
}

export function checkAgentInfo(info: AgentInfo, imageNames: ImageNameCache): CheckedAgent {
  const id = nonEmptyString(info?.id, "agent.id");
  const address = nonEmptyString(info.address, "agent.address");
  nonEmptyString(info.pool, "agent.pool");
  nonEmptyString(info.namespace, "agent.namespace");
  if (!Number.isInteger(info.capacity) || info.capacity < 0) {
    throw invalidArgument("agent.capacity", `must be a non-negative integer, got ${String(info.capacity)}`);
  }
  if (!Array.isArray(info.images)) throw invalidArgument("agent.images", "must be an array of image names");
  const images = new Set<string>();
  for (const image of info.images) {
    const normalized = imageNames.tryNormalize(image);
    if (normalized !== undefined) images.add(normalized);
  }
  const prewarm = new Map<string, number>();
  for (const [key, ready] of Object.entries(info.prewarm ?? {})) {
    if (Number.isInteger(ready) && ready > 0) prewarm.set(key, ready);
  }
  return { id, address, images, prewarm };
}

export function nonEmptyString(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") throw invalidArgument(field, "must be a non-empty string");
  return value;
}

export function checkPort(port: unknown, field: string): number {
  if (!Number.isInteger(port) || (port as number) < MIN_PORT || (port as number) > MAX_PORT) {
    throw invalidArgument(field, `must be an integer ${MIN_PORT}-${MAX_PORT}, got ${String(port)}`);
  }
  return port as number;
}

/** A request's ports: each a valid port, none listed twice. */
export function requestPorts(ports: unknown): number[] {
  if (!Array.isArray(ports)) throw invalidArgument("ports", "must be an array of port numbers");
  const seen = new Set<number>();
  ports.forEach((port, i) => {
    const field = `ports[${i}]`;
    if (seen.has(checkPort(port, field))) throw invalidArgument(field, `port ${port} is listed twice`);
    seen.add(port);
  });
  return [...ports];
}

/** Ports found in the world (after a restart): each valid, repeats tolerated and dropped. */
export function restoredPorts(ports: unknown): number[] {
  if (!Array.isArray(ports)) throw invalidArgument("ports", "must be an array of port numbers");
  return [...new Set(ports.map((port, i) => checkPort(port, `ports[${i}]`)))];
}
