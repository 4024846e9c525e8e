/** A pool's `seccompProfile` as its agents' `--seccomp` flag, for both agent launchers. */
import path from "node:path";
import { invalidArgument, type SeccompProfile } from "@fast-sandbox/api";
import { SECCOMP_RUNTIME_DEFAULT, SECCOMP_UNCONFINED } from "../../agent/seccomp-setting.ts";

/**
 * The `--seccomp` value for `profile` (absent: RuntimeDefault). A Localhost profile names a file
 * relative to `profileDir`, the node's profile directory, as a Pod's does kubelet's; validation
 * (pool-validation.ts) keeps the path inside it.
 */
export function agentSeccompFlag(profile: SeccompProfile | undefined, profileDir: string): string {
  switch (profile?.type ?? "RuntimeDefault") {
    case "RuntimeDefault":
      return SECCOMP_RUNTIME_DEFAULT;
    case "Unconfined":
      return SECCOMP_UNCONFINED;
    case "Localhost": {
      const file = profile?.localhostProfile;
      if (!file)
        throw invalidArgument("spec.seccompProfile.localhostProfile", "is required with type Localhost");
      return path.posix.join(profileDir, file);
    }
  }
}
