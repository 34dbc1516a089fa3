/** Installs the Temporal CLI and the time-skipping test server where missing (used by .ci/run and `npm test`'s setup). */
import { findOrInstallTemporalCli, findOrInstallTestServer } from '../dev/temporal-cli';

const log = (msg: string) => process.stderr.write(`[install-tools] ${msg}\n`);
try {
  process.stdout.write(`temporal CLI: ${findOrInstallTemporalCli({ log })}\n`);
  process.stdout.write(`temporal test server: ${findOrInstallTestServer(log)}\n`);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
