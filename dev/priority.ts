/**
 * Lower CPU priority for the processes `npm start` runs beside the SCIM API (the worker and the
 * Temporal dev server): the command is started through `nice`, so every thread of the process
 * has the priority from its first instruction on. Where `nice` is missing (Windows), unchanged.
 */
import fs from 'node:fs';

/** Where coreutils' (or the BSD) `nice` lives on Linux and macOS. */
const NICE_PATHS = ['/usr/bin/nice', '/bin/nice', '/usr/local/bin/nice', '/opt/homebrew/bin/nice'];

function findNice(): string | undefined {
  if (process.platform === 'win32') return undefined;
  return NICE_PATHS.find((candidate) => fs.existsSync(candidate));
}

/** The command and arguments that run `command args` at nice value `nice` (0: as they are). */
export function withNice(command: string, args: string[], nice: number): { command: string; args: string[] } {
  const niceBin = nice > 0 ? findNice() : undefined;
  return niceBin ? { command: niceBin, args: ['-n', String(nice), command, ...args] } : { command, args };
}
