/** Every CRD Fast Sandbox installs, with the file each is generated into under deploy/base/crds/. */
import type { CustomResourceDefinition } from "./crd-common.ts";
import { sandboxCrd } from "./sandbox-crd.ts";
import { sandboxPoolCrd } from "./sandbox-pool-crd.ts";

export type { CustomResourceDefinition } from "./crd-common.ts";
export type { JsonSchemaProps } from "./json-schema-props.ts";
export { sandboxCrd } from "./sandbox-crd.ts";
export { sandboxPoolCrd } from "./sandbox-pool-crd.ts";

/** `<group>_<plural>.yaml`, the usual name of a generated CRD file. */
export function crdFileName(crd: CustomResourceDefinition): string {
  return `${crd.spec.group}_${crd.spec.names.plural}.yaml`;
}

export const crds: readonly CustomResourceDefinition[] = [sandboxCrd, sandboxPoolCrd];
