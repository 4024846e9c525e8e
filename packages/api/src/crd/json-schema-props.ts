/**
 * The OpenAPI v3 subset a CustomResourceDefinition accepts, typed so that tsc ties every object
 * schema to the TypeScript interface it describes: a missing or an extra property is a compile error.
 */

/** The types a structural schema may name (`null` is not one: Kubernetes uses `nullable`). */
export type SchemaType = "object" | "array" | "string" | "integer" | "number" | "boolean";

/** One node of a CRD's `openAPIV3Schema`, limited to what these CRDs use. */
export interface JsonSchemaProps {
  type?: SchemaType;
  description?: string;
  format?: "date-time" | "int32" | "int64";
  properties?: Record<string, JsonSchemaProps>;
  required?: string[];
  items?: JsonSchemaProps;
  additionalProperties?: JsonSchemaProps;
  enum?: Array<string | number>;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  "x-kubernetes-preserve-unknown-fields"?: true;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  /** CEL rules the API server checks on this node (1.25+); older servers drop them. See {@link ValidationRule}. */
  "x-kubernetes-validations"?: ValidationRule[];
}

/**
 * One CEL rule of `x-kubernetes-validations`, as apiextensions/v1 ValidationRule, limited to the
 * fields every server with CEL knows (`fieldPath` and `reason` came in 1.28: a 1.25-1.27 server
 * with strict field validation would refuse the CRD for them).
 */
export interface ValidationRule {
  /** A CEL expression over `self` (the value of this node) that must be true. */
  rule: string;
  /** What the API server answers when the rule is false. */
  message: string;
}

// A type-only brand: no runtime property, so the generated YAML holds plain schemas.
declare const describes: unique symbol;

/**
 * A schema known to describe values of type `T`. Only {@link objectSchema} and {@link arraySchema}
 * make one, and the brand is invariant in `T` and in its keys (optional ones count), so a schema
 * built for another type never fits.
 */
export type TypedSchema<T> = JsonSchemaProps & { readonly [describes]: (shape: Shape<T>) => Shape<T> };

/** What the brand compares: a list by its items, an object by its type and its key set. */
type Shape<T> = T extends ReadonlyArray<infer I> ? { items: Shape<I> } : { value: T; keys: keyof T };

type Scalar = string | number | boolean;

/**
 * The schema a property of type `V` needs: a {@link TypedSchema} for objects and lists of objects
 * (so their keys are checked too), any schema for scalars, scalar lists and free-form maps.
 */
export type SchemaFor<V> = [NonNullable<V>] extends [ReadonlyArray<infer I>]
  ? [I] extends [Scalar]
    ? JsonSchemaProps
    : TypedSchema<NonNullable<V>>
  : [NonNullable<V>] extends [Scalar]
    ? JsonSchemaProps
    : string extends keyof NonNullable<V>
      ? JsonSchemaProps
      : TypedSchema<NonNullable<V>>;

/** Exactly one schema per property of `T`, optional ones included. */
export type PropertiesOf<T> = { [K in keyof T]-?: SchemaFor<T[K]> };

export interface ObjectSchemaOptions<T> {
  description?: string;
  required?: Array<keyof T & string>;
  default?: Partial<T>;
  validations?: ValidationRule[];
}

/** An object schema whose property names are exactly the keys of `T` (checked by tsc). */
export function objectSchema<T>(
  properties: PropertiesOf<T>,
  options: ObjectSchemaOptions<T> = {},
): TypedSchema<T> {
  const schema: JsonSchemaProps = {};
  if (options.description !== undefined) schema.description = options.description;
  schema.type = "object";
  if (options.required?.length) schema.required = [...options.required];
  schema.properties = properties as Record<string, JsonSchemaProps>;
  if (options.default !== undefined) schema.default = options.default;
  if (options.validations?.length) schema["x-kubernetes-validations"] = [...options.validations];
  return schema as TypedSchema<T>;
}

/** A list of objects described by `items`. */
export function arraySchema<I>(
  items: TypedSchema<I>,
  extra: Omit<JsonSchemaProps, "type" | "items"> = {},
): TypedSchema<I[]> {
  const { description, ...rest } = extra;
  const schema: JsonSchemaProps = description === undefined ? {} : { description };
  const array: JsonSchemaProps = { ...schema, type: "array", ...rest, items };
  return array as TypedSchema<I[]>;
}
