/**
 * The `pools list` table: NAME MIN MAX AGENTS SLOTS RUNTIME AGE, plus NAMESPACE with -A and more with
 * -o wide. SLOTS is allocated/total of the serving agents, then what still runs on draining ones.
 */
import type { PoolDetails, PrewarmTemplate } from "@fast-sandbox/sdk";
import { formatAge } from "./duration.ts";
import { formatSlotsShort, poolSlots } from "./pool-slots.ts";
import { shortImage } from "./sandbox-view.ts";
import type { Style } from "./style.ts";
import type { Cell } from "./table.ts";

export interface PoolTableOptions {
  wide: boolean;
  allNamespaces: boolean;
  style: Style;
  now: number;
}

export function poolHeader(o: PoolTableOptions): Cell[] {
  return [
    ...(o.allNamespaces ? ["NAMESPACE"] : []),
    "NAME",
    "MIN",
    "MAX",
    "AGENTS",
    "SLOTS",
    "RUNTIME",
    "AGE",
    ...(o.wide ? ["BUFFER", "PER-AGENT", "PREWARM"] : []),
  ].map((title) => ({ text: title, colour: o.style.bold }));
}

export function poolRow(p: PoolDetails, o: PoolTableOptions): Cell[] {
  const { capacity } = p.spec;
  const agents = `${p.status.readyAgents}/${p.status.currentAgents}`;
  return [
    ...(o.allNamespaces ? [p.namespace] : []),
    p.name,
    String(capacity.poolMin),
    String(capacity.poolMax),
    // Yellow while some launched agents do not answer yet.
    p.status.readyAgents < p.status.currentAgents ? { text: agents, colour: o.style.yellow } : agents,
    formatSlotsShort(poolSlots(p)),
    p.spec.runtimeType,
    p.createdAt ? formatAge(o.now - p.createdAt.getTime()) : "-",
    ...(o.wide
      ? [
          `${capacity.bufferMin}-${capacity.bufferMax}`,
          String(p.spec.maxSandboxesPerPod),
          formatPrewarm(p.spec.prewarm),
        ]
      : []),
  ];
}

/** `busybox:latest(2),alpine:3(1)`, or `-` without prewarm templates. */
export function formatPrewarm(templates: PrewarmTemplate[]): string {
  return templates.map((t) => `${shortImage(t.image)}(${t.count})`).join(",") || "-";
}
