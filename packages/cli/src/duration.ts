/** Durations as users type them (`90s`, `10m`, `1h30m`) and ages as tables show them (`5m`, `2d`). */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Milliseconds of a Go-style duration (`500ms`, `30s`, `10m`, `1h30m`, `2d`); throws on anything else. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) {
    throw new Error(`"${text}" is not a duration: use a number with a unit, like 30s, 10m, 2h or 1h30m`);
  }
  let ms = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit!]!;
  return Math.round(ms);
}

/** Whole seconds from a duration or a bare number of seconds (`90`, `90s`, `2m`). */
export function parseSeconds(text: string): number {
  if (/^\d+$/.test(text.trim())) return Number(text);
  const ms = parseDuration(text);
  if (ms % 1000 !== 0) throw new Error(`"${text}" is not a whole number of seconds`);
  return ms / 1000;
}

/** A short age: `45s`, `12m`, `3h`, `4d` (the largest unit only, as kubectl shows it). */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}
