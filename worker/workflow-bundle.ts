/**
 * The workflow code as one bundle for the worker's sandbox. Bundling runs webpack, which
 * leaves ~80 MB in the process that ran it; the worker therefore uses a bundle built ahead
 * (`npm run build:workflows`, done in the Docker image) or builds one in a short-lived child
 * process at start.
 *
 *   npm run build:workflows [-- <out path>]     default dist/workflows.js
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { bundleWorkflowCode } from '@temporalio/worker';
import { OTEL_WORKFLOW_INTERCEPTORS_MODULE, tracingEnabled } from '../common/tracing';
import { WORKFLOW_INTERCEPTORS_MODULE } from './create-worker';

/** Run compiled (dist/worker/workflow-bundle.js, `npm run build`) rather than from source through tsx. */
const COMPILED = path.extname(__filename) === '.js';

/** dist/workflows.js either way: from source `<root>/dist/`, compiled the out dir itself. */
export const DEFAULT_BUNDLE_PATH = COMPILED ? path.join(__dirname, '..', 'workflows.js') : path.join(__dirname, '..', 'dist', 'workflows.js');

/** Bundles the workflows (and the workflow interceptors the worker registers) into `outPath`. */
export async function writeWorkflowBundle(outPath: string): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    // With tracing configured (OTEL_EXPORTER_OTLP_ENDPOINT) when the bundle is built, workflow spans too.
    workflowInterceptorModules: [...(tracingEnabled() ? [OTEL_WORKFLOW_INTERCEPTORS_MODULE] : []), WORKFLOW_INTERCEPTORS_MODULE],
    logger: {
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (m) => process.stderr.write(`${m}\n`),
      error: (m) => process.stderr.write(`${m}\n`),
      log: () => undefined,
    },
  });
  fs.mkdirSync(path.dirname(outPath), { recursive: true });
  // Write then rename: a worker starting at the same time never reads half a bundle.
  const tmp = `${outPath}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, code);
  fs.renameSync(tmp, outPath);
}

/** Builds a fresh bundle in a child process (this file, through tsx unless compiled) and returns its path. */
export async function buildWorkflowBundleInChild(): Promise<string> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scimflow-workflows-')), 'workflows.js');
  // Compiled, production has no tsx (a dev dependency): the child runs the JavaScript itself.
  await promisify(execFile)(process.execPath, [...(COMPILED ? [] : ['--import', 'tsx']), __filename, out], { maxBuffer: 16 * 1024 * 1024 });
  return out;
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? DEFAULT_BUNDLE_PATH);
  writeWorkflowBundle(out).then(
    () => process.stdout.write(`workflow bundle written to ${out}\n`),
    (err: Error) => {
      process.stderr.write(`${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
