/** Public surface of @fast-sandbox/api: shared types, validation, the error root, and the streaming upload both clients use. */

export { canonicalJson } from "./canonical-json.ts";
export type { EnvVar } from "./env.ts";
export {
  envEntryBytes,
  envListSchema,
  envListToMap,
  envMapSchema,
  envMaxEntries,
  envMaxTotalBytes,
  envNameMaxLength,
  envNameSchema,
  envValueMaxBytes,
  envValueSchema,
} from "./env.ts";
export type { FsbErrorOptions } from "./errors.ts";
export { ErrorCode, FsbError, invalidArgument, isErrorCode, isFsbError, toFsbError } from "./errors.ts";
export {
  DEFAULT_DIR_MODE,
  DEFAULT_FILE_MODE,
  FileLimits,
  parseOctalMode,
  validateFileMode,
  validateFilePath,
  validateListDepth,
  validateWriteContent,
} from "./file-validation.ts";
export type { ImageRef } from "./image-ref.ts";
export {
  formatImageRef,
  imageNameMaxLength,
  imageRefSchema,
  isImageRef,
  normalizeImageName,
  parseImageRef,
} from "./image-ref.ts";
export type { Cidr } from "./ipv4.ts";
export {
  blockSize,
  cidrContains,
  cidrsOverlap,
  coverOf,
  formatCidr,
  formatIpv4,
  parseCidr,
  parseIpv4,
  subBlock,
} from "./ipv4.ts";
export type { LabelKey } from "./labels.ts";
export {
  anchorContainerId,
  anchorRole,
  formatPortsLabel,
  isAnchorContainer,
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
export type { EgressSpec, NetworkModeName, PoolNetworkSpec, SandboxNetworkSpec } from "./network-spec.ts";
export {
  DEFAULT_NETWORK_MODE,
  egressCidrs,
  egressSchema,
  MAX_EGRESS_CIDRS,
  NETWORK_MODES,
  poolNetworkSchema,
  sandboxNetworkSchema,
} from "./network-spec.ts";
export type { Condition, NewObject, ObjectMeta, StoredObject } from "./object-meta.ts";
export { API_GROUP, API_VERSION, objectKey, splitObjectKey } from "./object-meta.ts";
export {
  PoolDefaults,
  PoolLimits,
  poolCapacitySchema,
  poolSpecSchema,
  prewarmTemplateSchema,
  SECCOMP_LOCALHOST_PROFILE_PATTERN,
  seccompProfileSchema,
  validatePoolSpec,
} from "./pool-validation.ts";
export { exposedPortsMaxCount, exposedPortsSchema, portSchema } from "./ports.ts";
export type { PrewarmTemplateSpec } from "./prewarm-key.ts";
export { type PrewarmableCreate, prewarmKey, prewarmKeyOfCreate } from "./prewarm-key.ts";
export {
  type ExecSpec,
  execSpecSchema,
  execTimeoutMaxMs,
  type ProcessSignalName,
  parseProcessSignal,
  processIdMaxLength,
  processIdSchema,
  processInputMaxBytes,
  processSignals,
  ptyResizeSchema,
  ptySizeMax,
  userMaxLength,
  userSchema,
  validateExecSpec,
  validateProcessId,
  validateProcessInput,
  validatePtySize,
} from "./process-validation.ts";
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
export type {
  ConsistencyMode,
  FailurePolicy,
  Sandbox,
  SandboxPool,
  SandboxPoolSpec,
  SandboxPoolStatus,
  SandboxResources,
  SandboxSpec,
  SandboxStatus,
  SeccompProfile,
  SeccompProfileType,
} from "./sandbox-resource.ts";
export {
  CREATED_AT_ANNOTATION,
  DEFAULT_POOL,
  DEFAULT_RECOVERY_TIMEOUT_SECONDS,
  GRACE_ANNOTATION,
  POOL_KIND,
  PoolCondition,
  PoolReason,
  SANDBOX_FINALIZER,
  SANDBOX_KIND,
  SandboxCondition,
  SandboxPhase,
  SandboxReason,
} from "./sandbox-resource.ts";
export {
  argListSchema,
  argSchema,
  isQualifiedKey,
  labelLimitsProblem,
  labelsMaxEntries,
  labelsMaxTotalBytes,
  labelsSchema,
  maxArgBytes,
  maxArgs,
  maxArgsTotalBytes,
  maxRecoveryTimeoutSeconds,
  normalizeSandboxSpec,
  refineProcessArgs,
  sameSandboxSpec,
  sandboxResourcesSchema,
  sandboxSpecSchema,
  timestampSchema,
  validateFutureExpireTime,
  validateLabelLimits,
  validateLabels,
  validateSandboxName,
  validateSandboxSpec,
  workingDirSchema,
} from "./sandbox-validation.ts";
export type { StreamUploadAnswer, StreamUploadRequest } from "./stream-upload.ts";
export { streamUpload } from "./stream-upload.ts";
export { formatFieldPath, fromZodError, parseOrThrow } from "./zod-error.ts";
