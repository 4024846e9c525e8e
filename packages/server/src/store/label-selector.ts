/** Kubernetes label selectors: parse `a=b,c!=d,e,!f,g in (x,y),h notin (z)` and match label sets. */
import { invalidArgument } from "@fast-sandbox/api";

export type SelectorOperator = "=" | "!=" | "exists" | "!exists" | "in" | "notin";

/** One comma-separated term of a selector; all terms must hold for a match. */
export interface Requirement {
  key: string;
  operator: SelectorOperator;
  /** Empty for exists and !exists; one value for = and !=. */
  values: string[];
}

/** A parsed selector. The empty selector has no requirements and matches everything. */
export interface LabelSelector {
  requirements: Requirement[];
}

const FIELD = "labelSelector";
const nameMaxLength = 63;
const prefixMaxLength = 253;
const namePattern = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const prefixPattern = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

/** Whether `key` is a valid label key: an optional DNS subdomain prefix and `/`, then a name of ≤63 chars. */
export function isLabelKey(key: string): boolean {
  const slash = key.indexOf("/");
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length > prefixMaxLength || !prefixPattern.test(prefix)) return false;
  }
  return name.length <= nameMaxLength && namePattern.test(name);
}

/** Whether `value` is a valid label value: empty, or ≤63 alphanumerics with `-_.` inside. */
export function isLabelValue(value: string): boolean {
  return value === "" || (value.length <= nameMaxLength && namePattern.test(value));
}

type Token = { kind: "word"; text: string } | { kind: "op"; text: string } | { kind: "end" };

// Words are runs of the characters keys and values may hold; everything else is an operator or an error.
const wordChar = /[A-Za-z0-9._/-]/;

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === " " || c === "\t") {
      i++;
    } else if (wordChar.test(c)) {
      let j = i;
      while (j < input.length && wordChar.test(input[j]!)) j++;
      tokens.push({ kind: "word", text: input.slice(i, j) });
      i = j;
    } else if (input.startsWith("==", i) || input.startsWith("!=", i)) {
      tokens.push({ kind: "op", text: input.slice(i, i + 2) });
      i += 2;
    } else if ("=!(),".includes(c)) {
      tokens.push({ kind: "op", text: c });
      i++;
    } else {
      throw invalidArgument(FIELD, `unexpected character ${JSON.stringify(c)} at position ${i}`);
    }
  }
  tokens.push({ kind: "end" });
  return tokens;
}

/** Parses a selector string. Throws INVALID_ARGUMENT (field `labelSelector`) on bad syntax. */
export function parseLabelSelector(input: string): LabelSelector {
  const tokens = tokenize(input);
  let pos = 0;
  const peek = (): Token => tokens[pos]!;
  const isOp = (text: string): boolean => {
    const t = peek();
    return t.kind === "op" && t.text === text;
  };
  const fail = (expected: string): never => {
    const t = peek();
    const got = t.kind === "end" ? "end of selector" : JSON.stringify(t.text);
    throw invalidArgument(FIELD, `expected ${expected} but found ${got} in ${JSON.stringify(input)}`);
  };
  const key = (): string => {
    const t = peek();
    if (t.kind !== "word") return fail("a label key");
    if (!isLabelKey(t.text))
      throw invalidArgument(FIELD, `${JSON.stringify(t.text)} is not a valid label key`);
    pos++;
    return t.text;
  };
  const value = (): string => {
    const t = peek();
    // An empty value is allowed (`a=` selects labels set to ""), so a missing word reads as "".
    if (t.kind !== "word") return "";
    if (!isLabelValue(t.text)) {
      throw invalidArgument(FIELD, `${JSON.stringify(t.text)} is not a valid label value`);
    }
    pos++;
    return t.text;
  };
  const valueSet = (): string[] => {
    if (!isOp("(")) fail("'('");
    pos++;
    const values = [value()];
    while (isOp(",")) {
      pos++;
      values.push(value());
    }
    if (!isOp(")")) fail("',' or ')'");
    pos++;
    return [...new Set(values)];
  };
  const requirement = (): Requirement => {
    if (isOp("!")) {
      pos++;
      return { key: key(), operator: "!exists", values: [] };
    }
    const k = key();
    const t = peek();
    if (t.kind === "op" && (t.text === "=" || t.text === "==" || t.text === "!=")) {
      pos++;
      return { key: k, operator: t.text === "!=" ? "!=" : "=", values: [value()] };
    }
    if (t.kind === "word" && (t.text === "in" || t.text === "notin")) {
      pos++;
      return { key: k, operator: t.text, values: valueSet() };
    }
    return { key: k, operator: "exists", values: [] };
  };

  const requirements: Requirement[] = [];
  if (peek().kind === "end") return { requirements };
  requirements.push(requirement());
  while (isOp(",")) {
    pos++;
    requirements.push(requirement());
  }
  if (peek().kind !== "end") fail("',' or end of selector");
  return { requirements };
}

/** Whether `labels` satisfy every requirement. `!=` and `notin` also match when the label is absent. */
export function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return selector.requirements.every((r) => matchesRequirement(r, labels));
}

function matchesRequirement(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case "exists":
      return has;
    case "!exists":
      return !has;
    case "=":
    case "in":
      return has && r.values.includes(value!);
    case "!=":
    case "notin":
      return !has || !r.values.includes(value!);
  }
}

/** Parses once and returns a predicate; the shorthand backends use for list and watch filters. */
export function labelMatcher(
  selector: string | undefined,
): (labels: Readonly<Record<string, string>>) => boolean {
  if (selector === undefined || selector.trim() === "") return () => true;
  const parsed = parseLabelSelector(selector);
  return (labels) => matchesSelector(parsed, labels);
}
