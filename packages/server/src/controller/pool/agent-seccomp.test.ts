// Unit tests of agentSeccompFlag: a pool's seccompProfile as the value its agents' --seccomp gets.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isFsbError, type SeccompProfile } from "@fast-sandbox/api";
import { seccompChoice } from "../../agent/seccomp-setting.ts";
import { agentSeccompFlag } from "./agent-seccomp.ts";

describe("agentSeccompFlag", () => {
  const cases: Array<{ name: string; profile: SeccompProfile | undefined; want: string }> = [
    { name: "no profile is the built-in one", profile: undefined, want: "runtime-default" },
    { name: "RuntimeDefault", profile: { type: "RuntimeDefault" }, want: "runtime-default" },
    { name: "Unconfined", profile: { type: "Unconfined" }, want: "unconfined" },
    {
      name: "Localhost, under the profile directory",
      profile: { type: "Localhost", localhostProfile: "team-a/strict.json" },
      want: "/var/lib/fsb/seccomp/team-a/strict.json",
    },
  ];
  for (const tc of cases) {
    it(`${tc.name} → ${tc.want}, which the agent's flag accepts`, () => {
      const flag = agentSeccompFlag(tc.profile, "/var/lib/fsb/seccomp");
      assert.equal(flag, tc.want);
      assert.doesNotThrow(() => seccompChoice(flag, "--seccomp"));
    });
  }

  it("refuses Localhost without a profile, naming the field", () => {
    assert.throws(
      () => agentSeccompFlag({ type: "Localhost" }, "/var/lib/fsb/seccomp"),
      (err) =>
        isFsbError(err, ErrorCode.InvalidArgument) && err.field === "spec.seccompProfile.localhostProfile",
    );
  });
});
