/** How one pool reads in text (`pools get`): a summary of spec and status, then its agents as a table. */
import type { PoolAgent, PoolDetails } from "@fast-sandbox/sdk";
import { formatAge } from "./duration.ts";
import { formatSlotsLong, poolSlots } from "./pool-slots.ts";
import { formatPrewarm } from "./pool-table.ts";
import type { Style } from "./style.ts";
import { type Cell, formatTable } from "./table.ts";

export function poolSummary(p: PoolDetails, style: Style, now = Date.now()): string {
  const { capacity } = p.spec;
  const labels = Object.entries(p.labels).map(([k, v]) => `${k}=${v}`);
  const conditions = p.status.conditions.map(
    (c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ""})` : ""}`,
  );
  const rows: Array<[string, Cell]> = [
    ["namespace", p.namespace],
    ["agents", `${capacity.poolMin} to ${capacity.poolMax}, ${p.spec.maxSandboxesPerPod} sandboxes each`],
    ["free slots", `${capacity.bufferMin} to ${capacity.bufferMax} kept free`],
    ["runtime", p.spec.runtimeType],
    ["prewarm", p.spec.prewarm.length ? `${formatPrewarm(p.spec.prewarm)} per agent` : "none"],
    ["ready", `${p.status.readyAgents} of ${p.status.currentAgents} agents`],
    ["slots", formatSlotsLong(poolSlots(p))],
    ["conditions", conditions.join(", ") || "-"],
    ["generation", `${p.status.generation} (observed ${p.status.observedGeneration})`],
    ["labels", labels.join(",") || "-"],
    ["age", p.createdAt ? formatAge(now - p.createdAt.getTime()) : "-"],
  ];
  const summary = formatTable(rows.map(([key, value]) => [{ text: `  ${key}`, colour: style.dim }, value]));
  return `sandboxpool ${style.bold(p.name)}\n${summary}\n${agentsTable(p.agents, style)}`;
}

/** ID NODE HEALTHY DRAINING SLOTS PREWARM, one row per agent. */
export function agentsTable(agents: PoolAgent[], style: Style): string {
  if (agents.length === 0) return "No agents.\n";
  const header = ["ID", "NODE", "HEALTHY", "DRAINING", "SLOTS", "PREWARM"].map((text) => ({
    text,
    colour: style.bold,
  }));
  const rows = agents.map((a): Cell[] => [
    a.id,
    a.node || "-",
    a.healthy ? "yes" : { text: "no", colour: style.red },
    a.draining ? { text: "yes", colour: style.yellow } : "no",
    `${a.allocated}/${a.capacity}`,
    String(a.prewarmReady),
  ]);
  return formatTable([header, ...rows]);
}
