// Builds the console: bundles src/main.jsx (Preact, JSX) and its CSS with esbuild into content-
// hashed files, writes index.html naming them (with a {{BASE}} placeholder the console function
// fills with the API stage prefix), and a gzip copy of each file. Usage: node build.mjs OUT_DIR.
// functions/console's build script runs it and embeds OUT_DIR in the binary; nothing built is
// committed. Pinned by package-lock.json; no network at build time.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) throw new Error('usage: node build.mjs OUT_DIR');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: [join(here, 'src/main.jsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  outdir: join(out, 'assets'),
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => p.split('/').pop());
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error(`esbuild wrote no script or style: ${outputs}`);

// The icon, content-hashed like the bundle.
const icon = readFileSync(join(here, 'src/icon.svg'));
const iconName = `icon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`;
writeFileSync(join(out, 'assets', iconName), icon);

const index = readFileSync(join(here, 'src/index.html'), 'utf8')
  .replace('{{JS}}', js).replace('{{CSS}}', css).replace('{{ICON}}', iconName);
writeFileSync(join(out, 'index.html'), index);

let total = 0;
for (const name of readdirSync(join(out, 'assets'))) {
  const path = join(out, 'assets', name);
  const gz = gzipSync(readFileSync(path), { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(`${path}.gz`, gz);
  total += gz.length;
}
console.log(`console: ${js}, ${css}, ${iconName}: ${total} bytes gzipped`);
