/** Go-style durations ("10s", "500ms", "2m", "1h30m") as milliseconds, for flags that the seed spells that way. */
import { invalidArgument } from "@fast-sandbox/api";

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

export function parseDuration(raw: string, field: string): number {
  let total = 0;
  part.lastIndex = 0;
  let matched = 0;
  while (part.lastIndex < raw.length) {
    const m = part.exec(raw);
    if (!m) break;
    total += Number(m[1]) * unitMs[m[2]!]!;
    matched = part.lastIndex;
  }
  if (raw === "" || matched !== raw.length) {
    throw invalidArgument(field, `"${raw}" is not a duration such as 500ms, 10s, 2m or 1h30m`);
  }
  return Math.round(total);
}
