/** The `list` table: NAME PHASE IMAGE AGENT ENDPOINTS AGE, plus NAMESPACE with -A and more with -o wide. */
import type { SandboxDetails } from "@fast-sandbox/sdk";
import { formatAge } from "./duration.ts";
import { formatEndpoints, formatExpiry, shortImage } from "./sandbox-view.ts";
import { colourPhase, type Style } from "./style.ts";
import type { Cell } from "./table.ts";

export interface SandboxTableOptions {
  wide: boolean;
  allNamespaces: boolean;
  style: Style;
  now: number;
}

export function sandboxHeader(o: SandboxTableOptions): Cell[] {
  return [
    ...(o.allNamespaces ? ["NAMESPACE"] : []),
    "NAME",
    "PHASE",
    "IMAGE",
    "AGENT",
    "ENDPOINTS",
    "AGE",
    ...(o.wide ? ["ID", "POOL", "MODE", "EXPIRES", "LABELS"] : []),
  ].map((title) => ({ text: title, colour: o.style.bold }));
}

/** `phase` overrides the sandbox's own (a watch shows `Deleted` for a deleted one). */
export function sandboxRow(d: SandboxDetails, o: SandboxTableOptions, phase: string = d.phase): Cell[] {
  const labels = Object.entries(d.labels).map(([k, v]) => `${k}=${v}`);
  return [
    ...(o.allNamespaces ? [d.namespace] : []),
    d.name,
    { text: phase, colour: (t: string) => colourPhase(o.style, t) },
    shortImage(d.image),
    d.agent || "-",
    formatEndpoints(d.endpoints),
    d.createdAt ? formatAge(o.now - d.createdAt.getTime()) : "-",
    ...(o.wide
      ? [
          d.id || "-",
          d.pool || "-",
          d.consistencyMode,
          formatExpiry(d.expireTime, o.now),
          labels.join(",") || "-",
        ]
      : []),
  ];
}

/**
 * Widths a watch starts with, since rows arrive after the header is printed: wide enough for
 * typical names, any phase (`Terminating`) and an `ip:port` endpoint.
 */
export function watchMinimumWidths(o: SandboxTableOptions): number[] {
  return [...(o.allNamespaces ? [12] : []), 16, 11, 16, 12, 21, 4];
}
