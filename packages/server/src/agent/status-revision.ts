/** The revision of an agent's status: a counter that moves whenever anything the status reports changes. */

/**
 * Bumped by every change to what `GET /api/v1/agent/status` reports (the sandbox set, a phase, an
 * exit, the prewarmed containers, the cached images), so a client that saw revision N and sees N
 * again knows nothing changed. It restarts from 1 with the process: compare it only together with
 * the agent's identity (a restarted agent may repeat a number).
 */
export class StatusRevision {
  #value = 1;

  get value(): number {
    return this.#value;
  }

  bump(): void {
    this.#value += 1;
  }
}
