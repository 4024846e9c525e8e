/** Listen addresses as flags spell them: `[host]:port`. */
import { invalidArgument } from "@fast-sandbox/api";

/** Where a server listens; an empty host means every interface, port 0 a free port. */
export interface BindAddress {
  host: string;
  port: number;
}

/** `:9090`, `127.0.0.1:9090` or `[::1]:9090`; an empty host means every interface. Port 0 picks a free one. */
export function bindAddress(raw: string, field: string): BindAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(raw);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw invalidArgument(field, `"${raw}" is not [host]:port`);
  return { host: m[1] ?? m[2] ?? "", port };
}
