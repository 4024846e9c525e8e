/** JSON with object keys sorted at every depth, so equal values always serialise identically. */

/** Serialises `value` with sorted keys; arrays keep their order (order is meaningful in them). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
