// Bundles the browser dashboard: dashboard/main.ts (with MQTT.js's browser
// build and uPlot) into one ES module, plus the static files the gateway serves.
// Used by `npm run build` and by the test setup, which calls buildDashboard().
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const STATIC_FILES = ['dashboard/index.html', 'dashboard/style.css', 'node_modules/uplot/dist/uPlot.min.css'];

/**
 * Lines of code, not counting blank lines and comment lines: the lab's measure
 * of a client's complexity.
 * @param {string} text
 * @returns {number}
 */
export function codeLines(text) {
  return text.split('\n').filter((line) => {
    const t = line.trim();
    return t !== '' && !t.startsWith('//') && !t.startsWith('/*') && !t.startsWith('*');
  }).length;
}

/**
 * codeLines of every dashboard/*.ts, keyed by file name; the comparison table adds up each method's modules.
 * @returns {Promise<Record<string, number>>}
 */
export async function clientLines() {
  const dir = path.join(ROOT, 'dashboard');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ts')).sort();
  const counts = await Promise.all(files.map(async (f) => [f, codeLines(await readFile(path.join(dir, f), 'utf8'))]));
  return Object.fromEntries(counts);
}

/**
 * Builds into `outDir` (relative paths are taken from the project root, so the
 * result does not depend on the caller's working directory).
 * @param {string} [outDir]
 * @returns {Promise<{ outDir: string, files: string[] }>}
 */
export async function buildDashboard(outDir = 'dist/dashboard') {
  const out = path.resolve(ROOT, outDir);
  await mkdir(out, { recursive: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: ['dashboard/main.ts'],
    outfile: path.join(out, 'main.js'),
    tsconfig: 'dashboard/tsconfig.json',
    bundle: true,
    // `platform: 'browser'` makes esbuild pick mqtt's "browser" export, the self-contained ESM build.
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    define: { __CLIENT_LINES__: JSON.stringify(await clientLines()) },
    logLevel: 'warning',
  });
  await Promise.all(STATIC_FILES.map((file) => copyFile(path.join(ROOT, file), path.join(out, path.basename(file)))));
  return { outDir: out, files: ['main.js', 'main.js.map', ...STATIC_FILES.map((file) => path.basename(file))] };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // A path given on the command line is the user's, so it is relative to where they ran the command.
  const outDir = process.argv[2] === undefined ? undefined : path.resolve(process.argv[2]);
  buildDashboard(outDir).then(
    ({ outDir: dir, files }) => console.log(`dashboard built: ${files.join(', ')} in ${dir}`),
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
