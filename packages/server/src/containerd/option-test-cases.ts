// Shared table runner for spec option tests: options are applied to a bare default spec.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ErrorCode, FsbError } from "@fast-sandbox/api";
import { defaultSpec, type OciSpec, type SpecOption } from "./oci-spec.ts";

/** Options whose effect on a bare default spec is checked. */
export interface ApplyCase {
  name: string;
  /** Applied in order to a bare default spec. */
  options: () => SpecOption[];
  got: (spec: OciSpec) => unknown;
  want: unknown;
}

/** A call that must throw an FsbError with `code` (and `field`, when given). */
export interface RejectCase {
  name: string;
  run: () => void;
  code: ErrorCode;
  field?: string;
}

/** Builds the option and applies it to a bare default spec, so both stages get exercised. */
export function onBareSpec(option: () => SpecOption): () => void {
  return () => option()(defaultSpec());
}

/** Registers one `it` per case under `title`. */
export function describeOptionCases(title: string, applyCases: ApplyCase[], rejectCases: RejectCase[]): void {
  describe(title, () => {
    for (const tc of applyCases) {
      it(tc.name, () => {
        const spec = defaultSpec();
        for (const option of tc.options()) option(spec);
        assert.deepEqual(tc.got(spec), tc.want);
      });
    }
    for (const tc of rejectCases) {
      it(tc.name, () =>
        assert.throws(tc.run, (err) => {
          assert.ok(err instanceof FsbError, `want FsbError, got ${err}`);
          assert.equal(err.code, tc.code);
          if (tc.field !== undefined) assert.equal(err.field, tc.field);
          return true;
        }),
      );
    }
  });
}
