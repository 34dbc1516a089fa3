/**
 * `npm run build [-- <out dir>]`: the app compiled to JavaScript for production (default
 * dist/; `npm run scim-server:prod`, `worker:prod`, the Docker image). tsc with
 * tsconfig.build.json (the folders tsconfig.json includes, without tests, benchmarks and this
 * script) emits CommonJS for Node 20; then every file that is not TypeScript in a folder that
 * has compiled code (SQL migrations, the console's assets, …) is copied to the same place under
 * the out dir, so code that reads a file relative to __dirname finds it there as in the source
 * tree, wherever a folder moves. docs/*.md too: the console's guide pages read them (absent in
 * the Docker image, whose build context leaves docs/ out; the pages say so).
 *
 * The workflow bundle is a step of its own (`npm run build:workflows`).
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.join(__dirname, '..');
/** Folders outside the compiled ones whose files the app reads at run time, and which files. */
const EXTRA_ASSETS = [{ dir: 'docs', file: /\.md$/ }];

function fail(message: string): never {
  process.stderr.write(`[build] ${message}\n`);
  process.exit(1);
}

/** Every file under `dir` (relative paths), depth first. */
function filesUnder(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const child = path.join(rel, e.name);
    return e.isDirectory() ? filesUnder(dir, child) : e.isFile() ? [child] : [];
  });
}

export function build(outDir: string): { files: number; assets: number } {
  const host: ts.ParseConfigFileHost = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
  };
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.build.json'), { outDir }, host);
  if (!parsed) fail('tsconfig.build.json could not be read');
  // The top-level folders with compiled code (scim-server, common, …), read from the config.
  const folders = [
    ...new Set(
      parsed.fileNames
        .map((f) => path.relative(ROOT, f).split(path.sep))
        .filter((parts) => parts.length > 1)
        .map((parts) => parts[0]),
    ),
  ].sort();

  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  const diagnostics = [...parsed.errors, ...ts.getPreEmitDiagnostics(program)];
  if (diagnostics.some((d) => d.category === ts.DiagnosticCategory.Error)) {
    const formatHost = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' };
    fail(`TypeScript errors, nothing written:\n${ts.formatDiagnostics(diagnostics, formatHost)}`);
  }
  // A folder's old output goes first, so code moved or deleted since the last build is not left
  // behind. Other files in the out dir (the workflow bundle dist/workflows.js) stay.
  for (const folder of folders) fs.rmSync(path.join(outDir, folder), { recursive: true, force: true });
  const emitted = program.emit();
  if (emitted.emitSkipped) fail('tsc emitted nothing');

  let assets = 0;
  const copy = (dir: string, keep: (file: string) => boolean) => {
    if (!fs.existsSync(path.join(ROOT, dir))) return;
    for (const file of filesUnder(path.join(ROOT, dir)).filter(keep)) {
      fs.mkdirSync(path.dirname(path.join(outDir, dir, file)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, dir, file), path.join(outDir, dir, file));
      assets++;
    }
  };
  for (const folder of folders) copy(folder, (file) => !file.endsWith('.ts'));
  for (const extra of EXTRA_ASSETS) copy(extra.dir, (file) => extra.file.test(file));
  return { files: parsed.fileNames.length, assets };
}

if (require.main === module) {
  const outDir = path.resolve(process.argv[2] ?? path.join(ROOT, 'dist'));
  const started = Date.now();
  const { files, assets } = build(outDir);
  process.stdout.write(`[build] ${files} modules compiled, ${assets} other files copied to ${outDir} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
