/** DNS-1123 names: the shape of every sandbox id, name and namespace Fast Sandbox accepts. */
import { z } from "zod";
import { invalidArgument } from "./errors.ts";

/** Longest DNS-1123 label (RFC 1123). */
export const dnsLabelMaxLength = 63;
/** Longest DNS-1123 subdomain (RFC 1123). */
export const dnsSubdomainMaxLength = 253;

const dnsLabelPattern = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

const labelRule =
  "only lowercase letters a-z, digits 0-9 and '-', starting and ending with a letter or digit";

// Returns why `value` is not a label, or undefined when it is; shared by the throwing and zod forms.
function dnsLabelProblem(value: string): string | undefined {
  if (value === "") return `must not be empty; use ${labelRule}`;
  if (value.length > dnsLabelMaxLength) {
    return `must be at most ${dnsLabelMaxLength} characters long (got ${value.length})`;
  }
  if (!dnsLabelPattern.test(value)) {
    return `${JSON.stringify(value)} is not a valid DNS-1123 label: use ${labelRule}`;
  }
  return undefined;
}

function dnsSubdomainProblem(value: string): string | undefined {
  if (value === "") return `must not be empty; use dot-separated labels of ${labelRule}`;
  if (value.length > dnsSubdomainMaxLength) {
    return `must be at most ${dnsSubdomainMaxLength} characters long (got ${value.length})`;
  }
  for (const label of value.split(".")) {
    if (label.length > dnsLabelMaxLength) {
      return `${JSON.stringify(value)} is not a valid DNS-1123 subdomain: each dot-separated part must be at most ${dnsLabelMaxLength} characters long`;
    }
    if (!dnsLabelPattern.test(label)) {
      return `${JSON.stringify(value)} is not a valid DNS-1123 subdomain: use dot-separated parts of ${labelRule}`;
    }
  }
  return undefined;
}

/** Whether `value` is a DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters. */
export function isDnsLabel(value: unknown): value is string {
  return typeof value === "string" && dnsLabelProblem(value) === undefined;
}

/** Whether `value` is a DNS-1123 subdomain: dot-separated DNS-1123 labels, at most 253 characters. */
export function isDnsSubdomain(value: unknown): value is string {
  return typeof value === "string" && dnsSubdomainProblem(value) === undefined;
}

/** Returns `value` if it is a DNS-1123 label; otherwise throws INVALID_ARGUMENT naming `field`. */
export function validateDnsLabel(value: unknown, field: string): string {
  if (typeof value !== "string") throw invalidArgument(field, "must be a string");
  const problem = dnsLabelProblem(value);
  if (problem !== undefined) throw invalidArgument(field, problem);
  return value;
}

/** Returns `value` if it is a DNS-1123 subdomain; otherwise throws INVALID_ARGUMENT naming `field`. */
export function validateDnsSubdomain(value: unknown, field: string): string {
  if (typeof value !== "string") throw invalidArgument(field, "must be a string");
  const problem = dnsSubdomainProblem(value);
  if (problem !== undefined) throw invalidArgument(field, problem);
  return value;
}

/**
 * Validates a sandbox id. Ids are DNS-1123 labels so that the same string is also a valid containerd
 * container id and a safe single path segment: it can never hold `/`, `..` or NUL.
 */
export function validateSandboxId(value: unknown, field = "sandboxId"): string {
  return validateDnsLabel(value, field);
}

/** zod schema for a DNS-1123 label. */
export const dnsLabelSchema = z.string().superRefine((value, ctx) => {
  const problem = dnsLabelProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

/** zod schema for a DNS-1123 subdomain. */
export const dnsSubdomainSchema = z.string().superRefine((value, ctx) => {
  const problem = dnsSubdomainProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

/** zod schema for a sandbox id; see {@link validateSandboxId} for why it is a DNS-1123 label. */
export const sandboxIdSchema = dnsLabelSchema;
