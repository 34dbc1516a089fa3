/**
 * Replays recorded histories against the current workflow code: the current code's own
 * (test/histories/*.json, recorded from the integration tests with SCIMFLOW_RECORD_HISTORIES=1)
 * and every released version's (test/histories/<version>/*.json). A change that would break
 * workflows already running in production fails here with a non-determinism error; see the
 * versioning rule in CONTRIBUTING.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { installRuntime } from '../worker/create-worker';

const dir = path.join(__dirname, '..', 'test', 'histories');
const files = fs.existsSync(dir)
  ? fs
      .readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];

test('there are recorded histories to replay', () => {
  expect(files.length).toBeGreaterThanOrEqual(6);
});

test('when recorded histories are replayed against the current code, then none is non-deterministic', async () => {
  installRuntime();
  const histories = files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) }));
  const results = Worker.runReplayHistories({ workflowsPath: require.resolve('./index') }, histories);
  const failures: string[] = [];
  let replayed = 0;
  for await (const r of results) {
    replayed += 1;
    if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed).toBe(files.length);
});
