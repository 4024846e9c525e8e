/** Sandbox ids: one per container incarnation, readable, and always a valid DNS label and containerd id. */
import { randomBytes } from "node:crypto";

/** Room left for the random suffix: a DNS label is at most 63 characters. */
const NAME_PART = 50;

/** `<name>-<8 hex>`; a recreated or reset sandbox gets a new id, so stale containers are told apart. */
export function newSandboxId(name: string): string {
  const base = name.slice(0, NAME_PART).replace(/-+$/, "") || "sandbox";
  return `${base}-${randomBytes(4).toString("hex")}`;
}
