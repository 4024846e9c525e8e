/** One liveness probe of an agent: `GET /healthz` on a fresh connection, judged fairly (see ProbeVerdict). */
import http from "node:http";
import https from "node:https";
import type { Clock } from "../../core/clock.ts";
import type { ProbeVerdict } from "./agent-liveness.ts";
import { STALL_TICK_MS, type StallSource, TIMER_SLACK_MS } from "./loop-stalls.ts";

/**
 * A probe the controller cannot judge within this many timeouts (it keeps stalling) is given up
 * as inconclusive, so probes never pile up behind a controller that is overloaded for minutes.
 */
const MAX_TIMEOUTS_PER_PROBE = 10;

/** After a late timer, one sampler tick (and its slack) before judging. */
const STALL_GRACE_MS = STALL_TICK_MS + TIMER_SLACK_MS;

/** Socket errors that say nothing about the agent: this process ran out of something. */
const LOCAL_ERRORS = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "EADDRNOTAVAIL", "EADDRINUSE"]);
/** Errors that mean the agent's host answered, or its network said it is not there. */
const GONE_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ETIMEDOUT",
  "ENOTFOUND",
]);

export interface LivenessProbeResult {
  verdict: ProbeVerdict;
  /** For logs: what happened, in a few words. */
  detail: string;
}

/** Probes one agent: the shape the monitor depends on, so tests can pass a fake. */
export type LivenessProbe = (url: string, timeoutMs: number) => Promise<LivenessProbeResult>;

export interface LivenessProbeOptions {
  clock: Clock;
  stalls: StallSource;
}

/**
 * Builds the real probe. `/healthz` answers from memory on the agent (it never waits on
 * containerd), and any HTTP answer, even 503 while the agent starts, proves the process alive. A
 * fresh connection per probe means no queue behind this controller's own requests to the agent,
 * and no keep-alive socket the agent closed meanwhile to be mistaken for a reset.
 *
 * The timeout counts only time during which this controller's event loop ran: if it stalled while
 * the probe was out (the answer may be sitting unread in the socket), the probe is given that much
 * longer before it counts as unanswered.
 */
export function livenessProbe(o: LivenessProbeOptions): LivenessProbe {
  return (url, timeoutMs) =>
    new Promise((resolve) => {
      const sentAt = o.clock.now();
      let settled = false;
      let timer: { cancel(): void } | undefined;
      const finish = (verdict: ProbeVerdict, detail: string) => {
        if (settled) return;
        settled = true;
        timer?.cancel();
        req?.destroy();
        resolve({ verdict, detail });
      };
      const target = `${url.replace(/\/+$/, "")}/healthz`;
      let req: http.ClientRequest;
      try {
        const client = target.startsWith("https:") ? https : http;
        req = client.request(target, { method: "GET", agent: false, headers: { connection: "close" } });
      } catch (err) {
        // A URL this process cannot even use says nothing about the agent.
        resolve({ verdict: "inconclusive", detail: `cannot probe ${target}: ${(err as Error).message}` });
        return;
      }
      req.on("response", (res) => {
        res.resume();
        finish("answered", `HTTP ${res.statusCode}`);
      });
      req.on("error", (err: NodeJS.ErrnoException) => finish(...verdictOfError(err)));
      req.end();

      const check = (dueAt: number) => {
        const now = o.clock.now();
        if (now - sentAt >= timeoutMs * MAX_TIMEOUTS_PER_PROBE) {
          return finish("inconclusive", `the controller kept stalling for ${now - sentAt} ms`);
        }
        // Fired late: the loop was stalled. Judge only after the sampler has recorded that stall
        // and any answer that arrived meanwhile has been read.
        if (now - dueAt > TIMER_SLACK_MS) {
          timer = o.clock.setTimer(() => check(now + STALL_GRACE_MS), STALL_GRACE_MS);
          return;
        }
        const ran = now - sentAt - o.stalls.stalledMs(sentAt, now);
        if (ran >= timeoutMs) return finish("failed", `no answer within ${timeoutMs} ms`);
        const wait = Math.max(TIMER_SLACK_MS, timeoutMs - ran);
        timer = o.clock.setTimer(() => check(now + wait), wait);
      };
      timer = o.clock.setTimer(() => check(sentAt + timeoutMs), timeoutMs);
    });
}

/** What a socket error proves about the agent. */
export function verdictOfError(err: NodeJS.ErrnoException): [ProbeVerdict, string] {
  const code = err.code ?? "";
  if (LOCAL_ERRORS.has(code)) return ["inconclusive", `local socket error ${code}`];
  if (GONE_ERRORS.has(code)) return ["failed", code === "ECONNREFUSED" ? "connection refused" : code];
  // A malformed HTTP answer is still an answer from a live process.
  if (code.startsWith("HPE_")) return ["answered", `malformed HTTP answer (${code})`];
  return ["inconclusive", err.message];
}
