/** Kubernetes resource quantities for CPU and memory, parsed exactly into millicores and bytes. */
import { z } from "zod";
import { invalidArgument } from "./errors.ts";

/** Least memory a sandbox may ask for: runc cannot start a container under a smaller memory limit. */
export const memoryMinBytes = 4 * 1024 * 1024;
/** Most processes a sandbox may be allowed. */
export const pidsMax = 1_000_000;

// Longer strings are never sensible quantities; the bound keeps the messages that quote them short.
const quantityMaxLength = 64;

type Parsed = { ok: true; value: number } | { ok: false; message: string };

const cpuForms = 'a positive number of cores such as "2" or "0.5", or of millicores such as "500m"';
const memoryForms =
  'a positive whole number of bytes, optionally with a suffix k, M, G, T, P, E (powers of 1000) or Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024), such as "256Mi"; suffixes are case-sensitive';

const cpuPattern = /^(\d*)(?:\.(\d*))?(m?)$/;
const memoryPattern = /^(\d*)(?:\.(\d*))?([kMGTPE]|[KMGTPE]i)?$/;

const memoryMultipliers: Readonly<Record<string, bigint>> = {
  "": 1n,
  k: 1000n,
  M: 1000n ** 2n,
  G: 1000n ** 3n,
  T: 1000n ** 4n,
  P: 1000n ** 5n,
  E: 1000n ** 6n,
  Ki: 1024n,
  Mi: 1024n ** 2n,
  Gi: 1024n ** 3n,
  Ti: 1024n ** 4n,
  Pi: 1024n ** 5n,
  Ei: 1024n ** 6n,
};

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);

// Scales the decimal `whole.fraction` by `multiplier / divisor` exactly, or returns undefined when the
// result is not a whole number; BigInt keeps "0.1" and "1.1Gi" free of float rounding.
function scale(whole: string, fraction: string, multiplier: bigint, divisor: bigint): bigint | undefined {
  const numerator = BigInt(`${whole || "0"}${fraction}`) * multiplier;
  const denominator = 10n ** BigInt(fraction.length) * divisor;
  return numerator % denominator === 0n ? numerator / denominator : undefined;
}

function cpuMillis(value: string): Parsed {
  const fail = (message: string): Parsed => ({ ok: false, message });
  if (value.length > quantityMaxLength) return fail(`must be at most ${quantityMaxLength} characters long`);
  const match = cpuPattern.exec(value);
  const whole = match?.[1] ?? "";
  const fraction = match?.[2] ?? "";
  if (match === null || (whole === "" && fraction === "")) {
    if (value.startsWith("-")) return fail(`must be greater than zero; use ${cpuForms}`);
    return fail(`${JSON.stringify(value)} is not a valid CPU quantity: use ${cpuForms}`);
  }
  const millis = match[3] === "m" ? scale(whole, fraction, 1n, 1n) : scale(whole, fraction, 1000n, 1n);
  if (millis === undefined) {
    return fail(
      `${JSON.stringify(value)} is finer than one millicore: use at most 3 decimal places of a core`,
    );
  }
  if (millis === 0n) return fail(`must be greater than zero; use ${cpuForms}`);
  if (millis > maxSafe) return fail(`${JSON.stringify(value)} is too large`);
  return { ok: true, value: Number(millis) };
}

function memoryBytes(value: string): Parsed {
  const fail = (message: string): Parsed => ({ ok: false, message });
  if (value.length > quantityMaxLength) return fail(`must be at most ${quantityMaxLength} characters long`);
  const match = memoryPattern.exec(value);
  const whole = match?.[1] ?? "";
  const fraction = match?.[2] ?? "";
  if (match === null || (whole === "" && fraction === "")) {
    if (value.startsWith("-")) return fail(`must be greater than zero; use ${memoryForms}`);
    return fail(`${JSON.stringify(value)} is not a valid memory quantity: use ${memoryForms}`);
  }
  const multiplier = memoryMultipliers[match[3] ?? ""];
  if (multiplier === undefined) {
    return fail(`${JSON.stringify(value)} is not a valid memory quantity: use ${memoryForms}`);
  }
  const bytes = scale(whole, fraction, multiplier, 1n);
  if (bytes === undefined) return fail(`${JSON.stringify(value)} is not a whole number of bytes`);
  if (bytes === 0n) return fail(`must be greater than zero; use ${memoryForms}`);
  if (bytes > maxSafe)
    return fail(`${JSON.stringify(value)} is too large (at most ${Number.MAX_SAFE_INTEGER} bytes)`);
  if (bytes < BigInt(memoryMinBytes)) {
    return fail(
      `${JSON.stringify(value)} is below the minimum of 4Mi (${memoryMinBytes} bytes): runc cannot start a container with less memory`,
    );
  }
  return { ok: true, value: Number(bytes) };
}

/** Parses a CPU quantity into millicores: `"500m"` is 500, `"2"` is 2000, `"0.5"` is 500. */
export function parseCpu(value: unknown, field = "cpu"): number {
  if (typeof value !== "string") throw invalidArgument(field, `must be a string: ${cpuForms}`);
  const parsed = cpuMillis(value);
  if (!parsed.ok) throw invalidArgument(field, parsed.message);
  return parsed.value;
}

/** Parses a memory quantity into bytes: `"256Mi"` is 268435456, `"1G"` is 1000000000; at least 4Mi. */
export function parseMemory(value: unknown, field = "memory"): number {
  if (typeof value !== "string") throw invalidArgument(field, `must be a string: ${memoryForms}`);
  const parsed = memoryBytes(value);
  if (!parsed.ok) throw invalidArgument(field, parsed.message);
  return parsed.value;
}

function quantitySchema(parse: (value: string) => Parsed) {
  return z.string().transform((value, ctx) => {
    const parsed = parse(value);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: "custom", message: parsed.message });
    return z.NEVER;
  });
}

/** zod schema for a CPU quantity string; outputs millicores. */
export const cpuSchema = quantitySchema(cpuMillis);

/** zod schema for a memory quantity string; outputs bytes. */
export const memorySchema = quantitySchema(memoryBytes);

/** zod schema for a process-count limit, 1 to 1,000,000. */
export const pidsSchema = z
  .number()
  .int({ error: `must be a whole number from 1 to ${pidsMax}` })
  .min(1, { error: `must be a whole number from 1 to ${pidsMax}` })
  .max(pidsMax, { error: `must be a whole number from 1 to ${pidsMax}` });

/** Resource limits as parsed: millicores, bytes and a process count. */
export interface Resources {
  cpuMillis?: number;
  memoryBytes?: number;
  pids?: number;
}

/**
 * zod schema for `{ cpu?, memory?, pids? }` as users write it (`{ cpu: "500m", memory: "256Mi" }`);
 * outputs {@link Resources}, leaving out what was not given. Unknown fields are rejected so typos surface.
 */
export const resourcesSchema = z
  .strictObject({
    cpu: cpuSchema.optional(),
    memory: memorySchema.optional(),
    pids: pidsSchema.optional(),
  })
  .transform(({ cpu, memory, pids }): Resources => {
    const resources: Resources = {};
    if (cpu !== undefined) resources.cpuMillis = cpu;
    if (memory !== undefined) resources.memoryBytes = memory;
    if (pids !== undefined) resources.pids = pids;
    return resources;
  });
