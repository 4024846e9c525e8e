/** Public surface of @fast-sandbox/api: shared types, validation and the error root. */
export { ErrorCode, FsbError, invalidArgument, isErrorCode, isFsbError, toFsbError } from "./errors.ts";
export type { FsbErrorOptions } from "./errors.ts";
