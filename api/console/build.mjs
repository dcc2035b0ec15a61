// Builds the console: type-checks the sources with tsc, bundles them with esbuild into
// content-hashed files, and writes index.html naming them. Run by the CMake target `console`
// (api/console/CMakeLists.txt), which installs the packages with `npm ci` first:
//   node build.mjs --modules DIR/node_modules --out DIR [--no-check]
// The packages live in the build tree, not here, so the source tree stays as committed.
import {spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs';
import {dirname, join, resolve, relative} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
function arg(name) {
  const i = args.indexOf(name);
  if (i < 0 || i + 1 >= args.length) {
    console.error(`build.mjs: ${name} DIR is required`);
    process.exit(2);
  }
  return resolve(args[i + 1]);
}
const modules = arg('--modules');
const out = arg('--out');
const check = !args.includes('--no-check');

// 1. Types. tsc resolves the packages through `paths` into the build tree's node_modules.
if (check) {
  const work = resolve(modules, '..');
  const config = join(work, 'tsconfig.check.json');
  writeFileSync(config, JSON.stringify({
    extends: join(here, 'tsconfig.json'),
    compilerOptions: {baseUrl: here, paths: {'*': [join(modules, '*')]}, types: []},
    include: [join(here, 'src')],
  }, null, 2));
  const tsc = spawnSync(process.execPath, [join(modules, 'typescript', 'bin', 'tsc'), '-p', config,
                                           '--pretty', 'false'], {stdio: 'inherit'});
  if (tsc.status !== 0) {
    console.error('build.mjs: type errors (above); nothing was built');
    process.exit(1);
  }
}

// 2. The bundle, into a fresh directory beside `out`, swapped in when complete.
const esbuild = (await import(pathToFileURL(join(modules, 'esbuild', 'lib', 'main.js')).href)).default;
const staging = `${out}.tmp`;
rmSync(staging, {recursive: true, force: true});
mkdirSync(join(staging, 'assets'), {recursive: true});
const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: {app: join(here, 'src', 'main.tsx')},
  bundle: true,
  format: 'esm',
  target: ['chrome109', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  nodePaths: [modules],
  outdir: join(staging, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});
if (result.errors.length > 0) process.exit(1);
const outputs = Object.keys(result.metafile.outputs).map((p) => relative(join(staging), resolve(here, p)));
const script = outputs.find((p) => p.endsWith('.js'));
const style = outputs.find((p) => p.endsWith('.css'));
if (!script || !style) {
  console.error('build.mjs: the bundle has no script or no style sheet');
  process.exit(1);
}
const page = readFileSync(join(here, 'src', 'index.html'), 'utf8')
  .replace('%STYLE%', `/console/${style}`)
  .replace('%SCRIPT%', `/console/${script}`);
writeFileSync(join(staging, 'index.html'), page);
copyFileSync(join(here, 'src', 'favicon.svg'), join(staging, 'favicon.svg'));
const digest = createHash('sha256').update(page).digest('hex').slice(0, 12);
// The old output moves aside before the new one takes its place, so `out` is never a half
// of either; CMake's stamp (and index.html, an output too) is written only after this.
const old = `${out}.old`;
rmSync(old, {recursive: true, force: true});
if (existsSync(out)) renameSync(out, old);
renameSync(staging, out);
rmSync(old, {recursive: true, force: true});
console.log(`console built into ${out} (${script}, ${style}, index ${digest})`);
