/**
 * The CRDs' `x-kubernetes-validations` offline: a tiny evaluator for exactly the CEL rule forms they
 * use, failing loudly on any other, and the checks the API server makes of a rule that matter here
 * (known fields, a bounded cost). Not a CEL implementation.
 */

/** A schema node, loosely typed (as in crd-rules.ts). */
type SchemaNode = Record<string, unknown>;

/** A ValidationRule's fields these CRDs may use: `fieldPath` and `reason` need 1.28 (see json-schema-props.ts). */
const RULE_FIELDS = new Set(["rule", "message"]);

/** `!has(self.a) || !has(self.b) || self.a <= self.b`: a ≤ b when both are set. */
const AT_MOST = /^!has\(self\.(\w+)\) \|\| !has\(self\.(\w+)\) \|\| self\.(\w+) <= self\.(\w+)$/;

interface AtMost {
  min: string;
  max: string;
}

const isNode = (v: unknown): v is SchemaNode => typeof v === "object" && v !== null && !Array.isArray(v);

/** The rule's meaning, or a throw naming it: an emulator that guessed would pass anything. */
export function parseRule(rule: string): AtMost {
  const m = AT_MOST.exec(rule);
  if (m === null || m[1] !== m[3] || m[2] !== m[4]) {
    throw new Error(`the offline CEL evaluator does not know the rule ${JSON.stringify(rule)}`);
  }
  return { min: m[1] as string, max: m[2] as string };
}

/**
 * Problems with a node's `x-kubernetes-validations`, as [key, message]: the shape of each rule, a rule
 * the evaluator knows, fields that are integer properties of the node, and no list or map above it
 * (the API server multiplies a rule's cost by the most items of every list around it).
 */
export function validationRuleProblems(node: SchemaNode, inListOrMap: boolean): Array<[string, string]> {
  const rules = node["x-kubernetes-validations"];
  if (rules === undefined) return [];
  if (!Array.isArray(rules) || rules.length === 0) return [["", "must be a non-empty list of rules"]];
  const problems: Array<[string, string]> = [];
  if (inListOrMap) problems.push(["", "rules inside a list or map multiply their cost; not used here"]);
  rules.forEach((entry, i) => {
    const at = `[${i}]`;
    if (!isNode(entry)) {
      problems.push([at, "must be an object"]);
      return;
    }
    for (const key of Object.keys(entry)) {
      if (!RULE_FIELDS.has(key)) problems.push([`${at}.${key}`, "not a field these CRDs use"]);
    }
    if (typeof entry.message !== "string" || entry.message === "") {
      problems.push([`${at}.message`, "must say what is wrong"]);
    }
    if (typeof entry.rule !== "string") {
      problems.push([`${at}.rule`, "must be a string"]);
      return;
    }
    let parsed: AtMost;
    try {
      parsed = parseRule(entry.rule);
    } catch (err) {
      problems.push([`${at}.rule`, (err as Error).message]);
      return;
    }
    const properties = isNode(node.properties) ? node.properties : {};
    for (const field of [parsed.min, parsed.max]) {
      const property = properties[field];
      if (!isNode(property) || property.type !== "integer") {
        problems.push([`${at}.rule`, `self.${field} must be an integer property of this object`]);
      }
    }
  });
  return problems;
}

export interface RuleViolation {
  /** JSON pointer of the object whose rule failed (`/spec/capacity`), as the API server names it. */
  path: string;
  message: string;
}

/** Evaluates every rule on the (pruned, defaulted) `value` against its schema, as the API server does. */
export function ruleViolations(value: unknown, schema: SchemaNode, path: string): RuleViolation[] {
  if (Array.isArray(value)) {
    const items = isNode(schema.items) ? schema.items : undefined;
    return items ? value.flatMap((v, i) => ruleViolations(v, items, `${path}/${i}`)) : [];
  }
  if (!isNode(value)) return [];
  const violations: RuleViolation[] = [];
  const rules = schema["x-kubernetes-validations"];
  for (const entry of Array.isArray(rules) ? (rules as Array<{ rule: string; message: string }>) : []) {
    const { min, max } = parseRule(entry.rule);
    const a = value[min];
    const b = value[max];
    if (typeof a === "number" && typeof b === "number" && a > b) {
      violations.push({ path, message: entry.message });
    }
  }
  const properties = isNode(schema.properties) ? schema.properties : {};
  for (const [key, child] of Object.entries(value)) {
    const childSchema = properties[key];
    if (isNode(childSchema)) violations.push(...ruleViolations(child, childSchema, `${path}/${key}`));
  }
  return violations;
}

/**
 * JSON Schema keywords whose violation the API server counts as blocking for CEL (type, enum,
 * required, too long, too many: customresource strategy's hasBlockingErr). With one, the rules are
 * not evaluated and it says so instead; a minimum or a pattern violation does not block.
 */
const BLOCKING = new Set(["type", "enum", "required", "maxLength", "maxItems", "maxProperties"]);

export const RULES_NOT_CHECKED =
  "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

/** Whether the schema has a CEL rule anywhere (the API server runs CEL only for such a version). */
export function hasRules(schema: SchemaNode): boolean {
  if (schema["x-kubernetes-validations"] !== undefined) return true;
  const children = [
    ...Object.values(isNode(schema.properties) ? schema.properties : {}),
    schema.items,
    schema.additionalProperties,
  ];
  return children.some((c) => isNode(c) && hasRules(c));
}

/** Whether a schema problem (by its keyword) keeps the API server from evaluating the rules. */
export function blocksRules(keyword: string): boolean {
  return BLOCKING.has(keyword);
}
