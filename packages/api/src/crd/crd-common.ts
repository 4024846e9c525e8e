/** Schema pieces both CRDs share (names, env, timestamps, conditions) and the CRD envelope itself. */
import { envMaxEntries, envNameMaxLength } from "../env.ts";
import { dnsLabelMaxLength } from "../names.ts";
import { API_GROUP, type Condition } from "../object-meta.ts";
import { maxArgs } from "../sandbox-validation.ts";
import { arraySchema, type JsonSchemaProps, objectSchema, type TypedSchema } from "./json-schema-props.ts";

export const CRD_VERSION = "v1alpha1";

/** DNS-1123 label, in a form both Go's RE2 (the API server) and ECMAScript accept. */
export const DNS_LABEL_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

export function dnsLabel(description: string, extra: JsonSchemaProps = {}): JsonSchemaProps {
  return { description, type: "string", maxLength: dnsLabelMaxLength, pattern: DNS_LABEL_PATTERN, ...extra };
}

/** RFC 3339 time; the controller's zod schema checks the exact form again. */
export function timestamp(description: string): JsonSchemaProps {
  return { description, type: "string", format: "date-time" };
}

/** A process argument list (command or args), bounded like sandbox-validation.ts. */
export function argList(description: string): JsonSchemaProps {
  return {
    description,
    type: "array",
    maxItems: maxArgs,
    items: { type: "string" },
    "x-kubernetes-list-type": "atomic",
  };
}

/** `[{ name, value }]` as in a container spec; a list-map keyed by name, so a name appears once. */
export function envList(description: string): TypedSchema<Array<{ name: string; value: string }>> {
  return arraySchema(
    objectSchema<{ name: string; value: string }>(
      {
        name: {
          description: "Variable name: letters, digits and '_', not starting with a digit.",
          type: "string",
          minLength: 1,
          maxLength: envNameMaxLength,
          pattern: "^[A-Za-z_][A-Za-z0-9_]*$",
        },
        value: { description: "Value; omitted means the empty string.", type: "string" },
      },
      { required: ["name"] },
    ),
    {
      description,
      maxItems: envMaxEntries,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
    },
  );
}

/** Conditions in the shape of Kubernetes' metav1.Condition (without observedGeneration, which nothing writes). */
export function conditionList(description: string): TypedSchema<Condition[]> {
  return arraySchema(
    objectSchema<Condition>(
      {
        type: { description: "Condition type, such as Ready.", type: "string", minLength: 1, maxLength: 316 },
        status: { type: "string", enum: ["True", "False", "Unknown"] },
        reason: {
          description: "A documented CamelCase reason.",
          type: "string",
          minLength: 1,
          maxLength: 1024,
        },
        message: { description: "Human-readable detail.", type: "string", maxLength: 32768 },
        lastTransitionTime: timestamp("When status last changed."),
      },
      { required: ["type", "status", "reason", "message", "lastTransitionTime"] },
    ),
    { description, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] },
  );
}

export function count(description: string, extra: JsonSchemaProps = {}): JsonSchemaProps {
  return { description, type: "integer", format: "int32", minimum: 0, ...extra };
}

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date";
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CrdNames {
  kind: string;
  plural: string;
  singular: string;
  shortName: string;
}

/** A CustomResourceDefinition as it is applied (apiextensions.k8s.io/v1). */
export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: "Namespaced";
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: JsonSchemaProps };
    }>;
  };
}

/**
 * A namespaced CRD in the sandbox.fast.io group with a status subresource. The root schema names
 * apiVersion, kind and metadata (only metadata.name may be restricted there) besides spec and status.
 */
export function customResourceDefinition(options: {
  names: CrdNames;
  description: string;
  spec: JsonSchemaProps;
  specRequired: boolean;
  status: JsonSchemaProps;
  printerColumns: PrinterColumn[];
}): CustomResourceDefinition {
  const { names } = options;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${names.plural}.${API_GROUP}`,
      labels: { "app.kubernetes.io/name": "fast-sandbox", "app.kubernetes.io/part-of": "fast-sandbox" },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind: names.kind,
        listKind: `${names.kind}List`,
        plural: names.plural,
        singular: names.singular,
        shortNames: [names.shortName],
        categories: ["fast-sandbox"],
      },
      scope: "Namespaced",
      versions: [
        {
          name: CRD_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...options.printerColumns,
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              description: options.description,
              type: "object",
              ...(options.specRequired ? { required: ["spec"] } : {}),
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: {
                  type: "object",
                  properties: { name: dnsLabel("A DNS-1123 label.") },
                },
                spec: options.spec,
                status: options.status,
              },
            },
          },
        },
      ],
    },
  };
}
