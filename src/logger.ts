/**
 * The one logging interface modules take: structured fields first, then a message, as pino's
 * Logger has it (a pino logger is passed in at the edge). A module that logs little asks for only
 * what it calls, e.g. `Pick<Logger, "error">`, so a test can hand it a small recorder.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
