/**
 * The error boundary of a process entry point (`npm run scim-server`, `npm run worker`, the CLIs):
 * a configuration problem is printed as the list of what to fix, anything else with its stack,
 * and the process exits with 1. A rejection nobody awaited ends up here too instead of in
 * Node's default crash output.
 */
import { ConfigError } from './config';

function report(name: string, err: unknown): void {
  const text = err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`[${name}] ${text}\n`);
}

export function runMain(name: string, main: () => Promise<void>): void {
  const fail = (err: unknown) => {
    report(name, err);
    process.exit(1);
  };
  process.on('unhandledRejection', fail);
  main().catch(fail);
}
