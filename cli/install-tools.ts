/**
 * Installs the Temporal CLI and the time-skipping test server where missing (used by .ci/run and
 * `npm test`'s setup). With --temporal-server, also builds the Temporal server and its SQL tool
 * for `npm run test:cluster` (needs Go; minutes the first time).
 */
import { findOrInstallTemporalCli, findOrInstallTestServer } from '../dev/temporal-cli';
import { findOrBuildTemporalServer } from '../dev/temporal-server';

const log = (msg: string) => process.stderr.write(`[install-tools] ${msg}\n`);
try {
  process.stdout.write(`temporal CLI: ${findOrInstallTemporalCli({ log })}\n`);
  process.stdout.write(`temporal test server: ${findOrInstallTestServer(log)}\n`);
  if (process.argv.includes('--temporal-server')) process.stdout.write(`temporal server: ${findOrBuildTemporalServer(log).server}\n`);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
