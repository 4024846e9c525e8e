/** Which ports are held on which address: sandboxes share their agent's network namespace, so ports are unique per IP, not per agent. */

/**
 * Port use per address. Each port keeps a count of its holders rather than a flag: allocations
 * restored from the world may conflict, and releasing one of them must not free a port the
 * other still holds.
 */
export class PortBook {
  readonly #byAddress = new Map<string, Map<number, number>>();

  /** Whether none of `ports` is held on `address`. */
  allFree(address: string, ports: readonly number[]): boolean {
    if (ports.length === 0) return true;
    const held = this.#byAddress.get(address);
    if (held === undefined) return true;
    for (const port of ports) if (held.has(port)) return false;
    return true;
  }

  /** The subset of `ports` held on `address`, in the given order. */
  taken(address: string, ports: readonly number[]): number[] {
    const held = this.#byAddress.get(address);
    return held === undefined ? [] : ports.filter((port) => held.has(port));
  }

  /** Adds one holder to each of `ports` on `address`. */
  reserve(address: string, ports: readonly number[]): void {
    if (ports.length === 0) return;
    let held = this.#byAddress.get(address);
    if (held === undefined) {
      held = new Map();
      this.#byAddress.set(address, held);
    }
    for (const port of ports) held.set(port, (held.get(port) ?? 0) + 1);
  }

  /** Drops one holder from each of `ports` on `address`; a port nobody holds any more is free again. */
  free(address: string, ports: readonly number[]): void {
    const held = this.#byAddress.get(address);
    if (held === undefined) return;
    for (const port of ports) {
      const count = held.get(port);
      if (count === undefined) continue;
      if (count > 1) held.set(port, count - 1);
      else held.delete(port);
    }
    if (held.size === 0) this.#byAddress.delete(address);
  }

  /** The ports held on `address`, ascending. */
  inUse(address: string): number[] {
    return [...(this.#byAddress.get(address)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** How many (address, port) pairs are held: what a leak check expects to fall back to 0. */
  get booked(): number {
    let n = 0;
    for (const held of this.#byAddress.values()) n += held.size;
    return n;
  }

  /** How many addresses hold at least one port. */
  get addresses(): number {
    return this.#byAddress.size;
  }
}
