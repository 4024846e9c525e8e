/** How one sandbox reads in text: a short summary, endpoints, expiry and shortened images. */
import type { SandboxDetails } from "@fast-sandbox/sdk";
import { formatAge } from "./duration.ts";
import { colourPhase, type Style } from "./style.ts";
import { type Cell, formatTable } from "./table.ts";

/** Docker Hub's implied prefix adds width without telling anything. */
export function shortImage(image: string): string {
  return image.replace(/^docker\.io\/library\//, "").replace(/^docker\.io\//, "");
}

export function formatEndpoints(endpoints: string[]): string {
  return endpoints.length ? endpoints.join(",") : "-";
}

/** `in 59m`, `5m ago`, or `never`. */
export function formatExpiry(expireTime: Date | undefined, now: number): string {
  if (!expireTime) return "never";
  const ms = expireTime.getTime() - now;
  return ms >= 0 ? `in ${formatAge(ms)}` : `${formatAge(-ms)} ago`;
}

/** The indented `key value` lines `run`, `update` and `reset` print under their one-line result. */
export function sandboxSummary(d: SandboxDetails, style: Style, now = Date.now()): string {
  const rows: Cell[][] = [
    ["id", d.id || "-"],
    ["phase", { text: d.phase, colour: (t) => colourPhase(style, t) }],
    ["agent", d.agent || "-"],
    ["endpoints", formatEndpoints(d.endpoints)],
    ["expires", formatExpiry(d.expireTime, now)],
  ];
  if (d.failurePolicy === "AutoRecreate")
    rows.push(["on failure", `AutoRecreate within ${d.recoveryTimeoutSeconds}s`]);
  const labels = Object.entries(d.labels).map(([k, v]) => `${k}=${v}`);
  if (labels.length) rows.push(["labels", labels.join(",")]);
  return formatTable(rows.map(([key, value]) => [{ text: `  ${key as string}`, colour: style.dim }, value!]));
}
