/** Public surface of @fast-sandbox/api: shared types, validation and the error root. */

export type { EnvVar } from "./env.ts";
export {
  envListSchema,
  envListToMap,
  envMapSchema,
  envMaxEntries,
  envNameMaxLength,
  envNameSchema,
  envValueMaxBytes,
  envValueSchema,
} from "./env.ts";
export type { FsbErrorOptions } from "./errors.ts";
export { ErrorCode, FsbError, invalidArgument, isErrorCode, isFsbError, toFsbError } from "./errors.ts";
export type { ImageRef } from "./image-ref.ts";
export {
  formatImageRef,
  imageNameMaxLength,
  imageRefSchema,
  isImageRef,
  normalizeImageName,
  parseImageRef,
} from "./image-ref.ts";
export type { LabelKey } from "./labels.ts";
export {
  formatPortsLabel,
  isManagedContainer,
  Labels,
  labelPrefix,
  managedByValue,
  parsePortsLabel,
} from "./labels.ts";
export {
  dnsLabelMaxLength,
  dnsLabelSchema,
  dnsSubdomainMaxLength,
  dnsSubdomainSchema,
  isDnsLabel,
  isDnsSubdomain,
  sandboxIdSchema,
  validateDnsLabel,
  validateDnsSubdomain,
  validateSandboxId,
} from "./names.ts";
export { exposedPortsMaxCount, exposedPortsSchema, portSchema } from "./ports.ts";
export type { Resources } from "./quantity.ts";
export {
  cpuSchema,
  memoryMinBytes,
  memorySchema,
  parseCpu,
  parseMemory,
  pidsMax,
  pidsSchema,
  resourcesSchema,
} from "./quantity.ts";
export { formatFieldPath, fromZodError, parseOrThrow } from "./zod-error.ts";
