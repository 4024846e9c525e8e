/** Parsers for sandbox settings shared by flags and YAML: ports, consistency mode, failure policy. */

export type Mode = "fast" | "strong";
export type FailurePolicy = "Manual" | "AutoRecreate";

const MAX_PORT = 65_535;

export function parsePort(value: unknown): number {
  const port = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > MAX_PORT) {
    throw new Error(`${JSON.stringify(value)} is not a port number (1-${MAX_PORT})`);
  }
  return port;
}

export function parseMode(value: unknown): Mode {
  const mode = typeof value === "string" ? value.toLowerCase() : value;
  if (mode !== "fast" && mode !== "strong") throw new Error(`${JSON.stringify(value)} is not fast or strong`);
  return mode;
}

/** Accepts the API's spelling and friendlier ones (`manual`, `auto-recreate`). */
export function parseFailurePolicy(value: unknown): FailurePolicy {
  const key = typeof value === "string" ? value.toLowerCase().replaceAll(/[-_]/g, "") : "";
  if (key === "manual") return "Manual";
  if (key === "autorecreate") return "AutoRecreate";
  throw new Error(`${JSON.stringify(value)} is not Manual or AutoRecreate`);
}
