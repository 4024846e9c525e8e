/** `K=V` flag values (`-e`, `--label`), collected from repeated flags into a record. */

/** Splits `K=V` at the first `=`; the value may be empty or contain `=`. */
export function parseKeyValue(text: string, what: string): [string, string] {
  const at = text.indexOf("=");
  if (at <= 0) throw new Error(`"${text}" is not ${what}=VALUE`);
  return [text.slice(0, at), text.slice(at + 1)];
}

/** A commander argParser that accumulates repeated `K=V` flags. */
export function collectKeyValues(what: string) {
  return (text: string, previous: Record<string, string> | undefined): Record<string, string> => {
    const [key, value] = parseKeyValue(text, what);
    return { ...previous, [key]: value };
  };
}

/** A commander argParser that accumulates a repeated flag into a list. */
export function collectList<T>(parse: (text: string) => T) {
  return (text: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(text)];
}

/** A commander argParser for `update --label`: `k=v` sets a label, `k-` removes it (sent as an empty value). */
export function collectLabelChanges(text: string, previous: Record<string, string> | undefined) {
  if (text.endsWith("-") && !text.includes("=")) return { ...previous, [text.slice(0, -1)]: "" };
  const [key, value] = parseKeyValue(text, "KEY");
  if (value === "") throw new Error(`"${text}" has no value: use ${key}- to remove the label`);
  return { ...previous, [key]: value };
}
