/** The CLI's own version, from its package.json. */
import pkg from "../package.json" with { type: "json" };

export const CLIENT_VERSION: string = pkg.version;
