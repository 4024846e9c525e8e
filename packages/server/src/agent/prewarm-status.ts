/** The prewarm part of an agent's status (pure): each template's count, ready containers and last error. */
import type { PrewarmTemplate, WarmContainer } from "./prewarm-template.ts";

/** One template as `GET /status` and `PUT /prewarm` report it. */
export interface PrewarmTemplateStatus {
  key: string;
  image: string;
  /** The count last asked for; 0 for a template known only from containers adopted after a restart. */
  count: number;
  /** Containers created and not started, available to a create now. */
  ready: number;
  /** Why the last attempt to make one failed (missing image, bad command…); absent once one succeeds. */
  error?: string;
}

/** The `prewarm` object of the agent's status. */
export interface PrewarmStatus {
  /** `--max-prewarm`: the most prewarmed containers, all templates together. */
  limit: number;
  templates: PrewarmTemplateStatus[];
}

/** What {@link prewarmStatus} reads of the pool. */
export interface PrewarmStatusFacts {
  limit: number;
  desired: readonly PrewarmTemplate[];
  ready: ReadonlyMap<string, readonly WarmContainer[]>;
  errorOf: (key: string) => string | undefined;
}

/**
 * The desired templates in their order, then any template known only from ready containers (adopted
 * after a restart, before the controller pushed the set again), with count 0.
 */
export function prewarmStatus(facts: PrewarmStatusFacts): PrewarmStatus {
  const row = (key: string, image: string, count: number): PrewarmTemplateStatus => {
    const error = facts.errorOf(key);
    return { key, image, count, ready: facts.ready.get(key)?.length ?? 0, ...(error ? { error } : {}) };
  };
  const templates = facts.desired.map((t) => row(t.key, t.image, t.count));
  const desired = new Set(facts.desired.map((t) => t.key));
  for (const [key, list] of facts.ready) {
    if (!desired.has(key) && list[0]) templates.push(row(key, list[0].image, 0));
  }
  return { limit: facts.limit, templates };
}
