/** The identity of a prewarm template: which creates a prewarmed container can serve. */
import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json.ts";
import { normalizeImageName } from "./image-ref.ts";

/** What a prewarmed container is made from; a create must ask for exactly this to take one. */
export interface PrewarmTemplateSpec {
  image: string;
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
}

/** Hex digits of the key: 64 bits, so distinct templates of one pool never collide in practice. */
const KEY_HEX_DIGITS = 16;

/**
 * A short stable hex key of a template: the first 16 hex digits of the SHA-256 of its canonical JSON,
 * with the image normalised and absent lists and env as empty. So `busybox` and
 * `docker.io/library/busybox:latest` share a key, env order does not matter, and any difference in
 * command, args or env values gives another key. The controller and the agents compute it alike.
 *
 * @example
 * prewarmKey({ image: "busybox", command: ["sleep", "3600"] }); // "3f0c…" (16 hex digits)
 */
export function prewarmKey(template: PrewarmTemplateSpec): string {
  const canonical = canonicalJson({
    image: normalizeImageName(template.image),
    command: template.command ?? [],
    args: template.args ?? [],
    env: template.env ?? {},
  });
  return createHash("sha256").update(canonical).digest("hex").slice(0, KEY_HEX_DIGITS);
}

/** A create as far as prewarming cares: the template fields, plus what no template can have. */
export interface PrewarmableCreate extends PrewarmTemplateSpec {
  workingDir?: string | undefined;
  /** Any field set here (cpu, memory, pids, ...) rules a prewarmed container out. */
  resources?: object | undefined;
}

/**
 * The key a create can be served under by a prewarmed container, or undefined when it sets
 * something a template's container cannot have (a working directory, resource limits). The agent
 * takes by it and the controller's scheduler prefers by it, so both apply the same rule.
 */
export function prewarmKeyOfCreate(create: PrewarmableCreate): string | undefined {
  if (create.workingDir) return undefined;
  if (Object.values(create.resources ?? {}).some((v) => v !== undefined)) return undefined;
  return prewarmKey({
    image: create.image,
    ...(create.command ? { command: create.command } : {}),
    ...(create.args ? { args: create.args } : {}),
    ...(create.env ? { env: create.env } : {}),
  });
}
