/**
 * What the API server checks before it accepts a CRD's schema (apiextensions validation and the
 * structural-schema rules, kubernetes.io "Specifying a structural schema"), and what it does to a
 * custom resource on create: prune unknown fields, apply defaults, validate, enforce list types.
 * Offline stand-ins for a real API server, written from the documented rules.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import {
  blocksRules,
  hasRules,
  RULES_NOT_CHECKED,
  ruleViolations,
  validationRuleProblems,
} from "./cel-rules.ts";

/** A schema node, loosely typed: these checks must also see keywords a CRD should not have. */
export type SchemaNode = Record<string, unknown>;

const types = new Set(["object", "array", "string", "integer", "number", "boolean"]);

/** Every keyword of apiextensions/v1 JSONSchemaProps; anything else is an unknown field. */
const knownKeywords = new Set([
  "$ref",
  "$schema",
  "additionalItems",
  "additionalProperties",
  "allOf",
  "anyOf",
  "default",
  "definitions",
  "dependencies",
  "description",
  "enum",
  "example",
  "exclusiveMaximum",
  "exclusiveMinimum",
  "externalDocs",
  "format",
  "id",
  "items",
  "maxItems",
  "maxLength",
  "maxProperties",
  "maximum",
  "minItems",
  "minLength",
  "minProperties",
  "minimum",
  "multipleOf",
  "not",
  "nullable",
  "oneOf",
  "pattern",
  "patternProperties",
  "properties",
  "required",
  "title",
  "type",
  "uniqueItems",
  "x-kubernetes-embedded-resource",
  "x-kubernetes-int-or-string",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-list-type",
  "x-kubernetes-map-type",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-validations",
]);

/** Keywords the API server refuses in a v1 CRD schema, with its reason. */
const forbidden: Record<string, string> = {
  $ref: "$ref is not supported",
  $schema: "$schema is not supported",
  definitions: "definitions is not supported",
  dependencies: "dependencies is not supported",
  additionalItems: "additionalItems is not supported",
  patternProperties: "patternProperties is not supported",
  id: "id is not supported",
  // Their contents are restricted by further structural rules that nothing here needs.
  allOf: "logical junctors are not used by these CRDs",
  anyOf: "logical junctors are not used by these CRDs",
  oneOf: "logical junctors are not used by these CRDs",
  not: "logical junctors are not used by these CRDs",
};

const isNode = (v: unknown): v is SchemaNode => typeof v === "object" && v !== null && !Array.isArray(v);

/** Problems with one CRD schema, as "path: message"; empty when the API server would accept it. */
export function structuralProblems(root: SchemaNode): string[] {
  const problems: string[] = [];
  const report = (path: string, message: string) => problems.push(`${path}: ${message}`);
  if (root.type !== "object") report("openAPIV3Schema.type", "the root must be of type object");
  walk(root, "openAPIV3Schema", { isRoot: true, defaultsForbidden: undefined, inListOrMap: false }, report);
  return problems;
}

interface Context {
  isRoot: boolean;
  /** Why a default is not allowed here, if it is not. */
  defaultsForbidden: string | undefined;
  /** Below the items of a list or the values of a map (a CEL rule's cost multiplies there). */
  inListOrMap: boolean;
}

function walk(node: SchemaNode, path: string, ctx: Context, report: (path: string, message: string) => void) {
  for (const key of Object.keys(node)) {
    if (!knownKeywords.has(key)) report(`${path}.${key}`, "unknown keyword");
    else if (key in forbidden) report(`${path}.${key}`, forbidden[key] as string);
  }
  const preserve = node["x-kubernetes-preserve-unknown-fields"];
  if (preserve === false) report(`${path}.x-kubernetes-preserve-unknown-fields`, "must be true or undefined");
  const typeless = node["x-kubernetes-int-or-string"] === true || preserve === true;
  if (node.type === undefined || node.type === "") {
    if (!typeless) report(`${path}.type`, "must not be empty for specified object fields");
  } else if (node.type === "null") {
    report(`${path}.type`, "type cannot be set to null, use nullable as an alternative");
  } else if (!types.has(node.type as string)) {
    report(`${path}.type`, `unsupported type ${JSON.stringify(node.type)}`);
  }
  if (node.uniqueItems === true) {
    report(
      `${path}.uniqueItems`,
      "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
    );
  }
  if (Array.isArray(node.items)) report(`${path}.items`, "items must be a schema object and not an array");
  if (node.additionalProperties !== undefined) {
    if (node.properties !== undefined) {
      report(`${path}.additionalProperties`, "additionalProperties and properties are mutual exclusive");
    }
    if (node.additionalProperties === false) report(`${path}.additionalProperties`, "must not be false");
  }
  if (node.default !== undefined) {
    if (ctx.defaultsForbidden !== undefined)
      report(`${path}.default`, `must not be set ${ctx.defaultsForbidden}`);
    else {
      const problem = defaultProblem(node);
      if (problem !== undefined) report(`${path}.default`, problem);
    }
  }
  checkListType(node, path, report);
  for (const [at, message] of validationRuleProblems(node, ctx.inListOrMap)) {
    report(`${path}.x-kubernetes-validations${at}`, message);
  }

  const properties = isNode(node.properties) ? node.properties : {};
  for (const [name, child] of Object.entries(properties)) {
    if (!isNode(child)) {
      report(`${path}.properties.${name}`, "must be a schema");
      continue;
    }
    const childPath = `${path}.properties.${name}`;
    if (ctx.isRoot && name === "metadata") checkRootMetadata(child, childPath, report);
    const inTopLevelMeta = ctx.isRoot && (name === "metadata" || name === "apiVersion" || name === "kind");
    walk(
      child,
      childPath,
      {
        isRoot: false,
        defaultsForbidden: inTopLevelMeta ? `in top-level ${name}` : ctx.defaultsForbidden,
        inListOrMap: ctx.inListOrMap,
      },
      report,
    );
  }
  for (const key of ["items", "additionalProperties"] as const) {
    const child = node[key];
    if (isNode(child)) walk(child, `${path}.${key}`, { ...ctx, isRoot: false, inListOrMap: true }, report);
  }
}

/** At the root, metadata may only restrict name and generateName (as strings). */
function checkRootMetadata(node: SchemaNode, path: string, report: (path: string, message: string) => void) {
  for (const key of Object.keys(node)) {
    if (key !== "type" && key !== "properties")
      report(`${path}.${key}`, "only name and generateName may be restricted");
  }
  if (node.type !== "object") report(`${path}.type`, "must be object");
  const properties = isNode(node.properties) ? node.properties : {};
  for (const [name, child] of Object.entries(properties)) {
    if (name !== "name" && name !== "generateName") {
      report(`${path}.properties.${name}`, "only name and generateName may be restricted");
    } else if (!isNode(child) || child.type !== "string") {
      report(`${path}.properties.${name}.type`, "must be string");
    }
  }
}

function checkListType(node: SchemaNode, path: string, report: (path: string, message: string) => void) {
  const listType = node["x-kubernetes-list-type"];
  const mapKeys = node["x-kubernetes-list-map-keys"];
  if (listType === undefined) {
    if (mapKeys !== undefined)
      report(`${path}.x-kubernetes-list-type`, "must be map if x-kubernetes-list-map-keys is set");
    return;
  }
  if (node.type !== "array") report(`${path}.type`, "must be array if x-kubernetes-list-type is specified");
  if (listType !== "atomic" && listType !== "set" && listType !== "map") {
    report(`${path}.x-kubernetes-list-type`, `unsupported value ${JSON.stringify(listType)}`);
  }
  const items = isNode(node.items) ? node.items : undefined;
  if (listType === "set" && items && (items.type === "object" || items.type === "array")) {
    report(`${path}.items`, "a set holds scalars here");
  }
  if (listType === "map") {
    if (!Array.isArray(mapKeys) || mapKeys.length === 0) {
      report(`${path}.x-kubernetes-list-map-keys`, "must not be empty if x-kubernetes-list-type is map");
      return;
    }
    if (items?.type !== "object") {
      report(`${path}.items.type`, "must be object if parent array's x-kubernetes-list-type is map");
      return;
    }
    const required = new Set(Array.isArray(items.required) ? items.required : []);
    const properties = isNode(items.properties) ? items.properties : {};
    for (const key of mapKeys as string[]) {
      const property = properties[key];
      if (!isNode(property)) {
        report(`${path}.x-kubernetes-list-map-keys`, `${key} must be a property of the items`);
      } else if (property.type === "object" || property.type === "array") {
        report(`${path}.items.properties.${key}.type`, "a map key must be a scalar");
      } else if (!required.has(key) && property.default === undefined) {
        report(`${path}.items.properties.${key}`, "a map key must be required or have a default");
      }
    }
  }
}

/** A default must be valid under its own schema and must survive pruning unchanged. */
function defaultProblem(node: SchemaNode): string | undefined {
  const value = structuredClone(node.default);
  const { default: _unused, ...schema } = node;
  const pruned = pruneUnknownFields(value, schema, "");
  if (pruned.length > 0) return `would be pruned: ${pruned.join(", ")}`;
  const validate = compile(schema);
  if (!validate(value)) return `is not valid under its schema: ${formatErrors(validate.errors)}`;
  return undefined;
}

/**
 * Removes, in place, the fields a schema does not name (outside x-kubernetes-preserve-unknown-fields),
 * as the API server prunes them, and returns their paths: strict field validation (kubectl's default)
 * rejects an object that has any.
 */
export function pruneUnknownFields(value: unknown, schema: SchemaNode, path: string): string[] {
  if (Array.isArray(value)) {
    const items = isNode(schema.items) ? schema.items : undefined;
    return items ? value.flatMap((v, i) => pruneUnknownFields(v, items, `${path}[${i}]`)) : [];
  }
  if (!isNode(value)) return [];
  const properties = isNode(schema.properties) ? schema.properties : undefined;
  const additional = isNode(schema.additionalProperties) ? schema.additionalProperties : undefined;
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  const removed: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    const childPath = path === "" ? key : `${path}.${key}`;
    const childSchema = properties?.[key] ?? additional;
    if (isNode(childSchema)) removed.push(...pruneUnknownFields(child, childSchema, childPath));
    else if (!preserve) {
      delete value[key];
      removed.push(childPath);
    }
  }
  return removed;
}

/** ajv as the API server's validator: Kubernetes' extensions ignored, its formats known, defaults applied. */
export function compile(schema: SchemaNode): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true, useDefaults: true });
  // Go's strfmt date-time: RFC 3339 with a T, optional fraction, Z or an offset.
  ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/);
  ajv.addFormat("int32", { type: "number", validate: (n: number) => n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isSafeInteger(n) });
  return ajv.compile(schema);
}

export function formatErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => `${e.instancePath || "/"} ${e.keyword} ${e.message ?? ""}`.trim())
    .join("; ");
}

export interface Problem {
  /** JSON pointer of the field, as ajv reports it (`/spec/exposedPorts/0`). */
  path: string;
  /** The rule broken: a JSON Schema keyword, `unknown-field`, `duplicate` or `x-kubernetes-validations` (CEL). */
  rule: string;
  message: string;
}

export interface Admitted {
  /** The object as it would be stored: pruned and defaulted. */
  object: Record<string, unknown>;
  problems: Problem[];
}

/** Admits `object` as the API server would for a CRD version's schema (strict field validation). */
export function admit(schema: SchemaNode, object: unknown): Admitted {
  const copy = structuredClone(object) as Record<string, unknown>;
  const problems: Problem[] = [];
  // metadata is ObjectMeta, which the API server handles itself; only name's restrictions apply.
  const { metadata, ...rest } = copy;
  for (const field of pruneUnknownFields(rest, schema, "")) {
    problems.push({
      path: `/${field.replaceAll(".", "/")}`,
      rule: "unknown-field",
      message: `unknown field "${field}"`,
    });
  }
  const admitted = { ...rest, ...(metadata === undefined ? {} : { metadata }) };
  const validate = compile(schema);
  if (!validate(admitted)) {
    for (const e of validate.errors ?? []) {
      const missing =
        e.keyword === "required" ? `/${(e.params as { missingProperty: string }).missingProperty}` : "";
      problems.push({ path: `${e.instancePath}${missing}`, rule: e.keyword, message: e.message ?? "" });
    }
  }
  problems.push(...listTypeProblems(admitted, schema, ""));
  problems.push(...celProblems(admitted, schema, problems));
  return { object: admitted, problems };
}

/** The CEL rules on the pruned, defaulted object, unless a schema problem blocks them (as on the server). */
function celProblems(admitted: unknown, schema: SchemaNode, schemaProblems: Problem[]): Problem[] {
  if (!hasRules(schema)) return [];
  if (schemaProblems.some((p) => blocksRules(p.rule))) {
    return [{ path: "", rule: "x-kubernetes-validations", message: RULES_NOT_CHECKED }];
  }
  return ruleViolations(admitted, schema, "").map((v) => ({
    path: v.path,
    rule: "x-kubernetes-validations",
    message: v.message,
  }));
}

/** Duplicates in `set` lists and in `map` lists (by their keys), which the API server rejects. */
function listTypeProblems(value: unknown, schema: SchemaNode, path: string): Problem[] {
  if (Array.isArray(value)) {
    const items = isNode(schema.items) ? schema.items : undefined;
    const problems: Problem[] = [];
    const listType = schema["x-kubernetes-list-type"];
    if (listType === "set" || listType === "map") {
      const keys = schema["x-kubernetes-list-map-keys"] as string[] | undefined;
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const key = JSON.stringify(listType === "map" && isNode(item) ? keys?.map((k) => item[k]) : item);
        if (seen.has(key))
          problems.push({ path: `${path}/${i}`, rule: "duplicate", message: `duplicate entry ${key}` });
        seen.add(key);
      });
    }
    if (items) {
      value.forEach((v, i) => {
        problems.push(...listTypeProblems(v, items, `${path}/${i}`));
      });
    }
    return problems;
  }
  if (!isNode(value) || !isNode(schema.properties)) return [];
  const properties = schema.properties;
  return Object.entries(value).flatMap(([key, child]) =>
    isNode(properties[key]) ? listTypeProblems(child, properties[key], `${path}/${key}`) : [],
  );
}
