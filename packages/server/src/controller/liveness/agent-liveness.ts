/** The rule that declares an agent lost, as pure state transitions over probe verdicts and the clock. */

/**
 * What one liveness probe proved. `answered`: the agent's process answered (any HTTP status).
 * `failed`: it provably did not — connection refused or reset by its host, or no answer within a
 * full probe timeout of the controller's own running time. `inconclusive`: the controller cannot
 * tell (its own socket errors, or it stalled so long the probe could not be judged).
 */
export type ProbeVerdict = "answered" | "failed" | "inconclusive";

/** Failed probes in a row, at least, before an agent can be lost: one slow answer is never enough. */
export const MIN_FAILED_PROBES = 3;

/** What the monitor remembers about an agent's liveness. */
export interface Liveness {
  /** Epoch ms of the last answer from the agent (a probe, a status, or its registration). */
  lastAnswerAt: number;
  /** Consecutive failed probes since then; inconclusive probes neither count nor reset it. */
  failures: number;
}

export function freshLiveness(now: number): Liveness {
  return { lastAnswerAt: now, failures: 0 };
}

/** The state after a probe that ended at `at` with `verdict`. */
export function livenessAfter(state: Liveness, verdict: ProbeVerdict, at: number): Liveness {
  switch (verdict) {
    case "answered":
      return { lastAnswerAt: Math.max(state.lastAnswerAt, at), failures: 0 };
    case "failed":
      return { ...state, failures: state.failures + 1 };
    case "inconclusive":
      return state;
  }
}

/**
 * An agent is lost when both hold: at least {@link MIN_FAILED_PROBES} consecutive probes failed
 * (each sent, and refused or unanswered for its full timeout while the controller itself was
 * running), and nothing at all has been heard from it for the loss timeout. A slow status answer
 * is no failed probe, and the controller's own stalls make probes inconclusive, not failed.
 */
export function isLost(state: Liveness, now: number, lossTimeoutMs: number): boolean {
  return state.failures >= MIN_FAILED_PROBES && now - state.lastAnswerAt >= lossTimeoutMs;
}
