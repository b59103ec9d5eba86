/** The process environment as configuration reads it (lib/config.ts), or any stand-in for it. */
export type Env = Readonly<Record<string, string | undefined>>;
