#!/usr/bin/env node
// The installed command (package.json "bin", `npm link`): runs the compiled CLI, or says how to build
// it, instead of Node's "Cannot find module" for a checkout that was never built.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const compiled = join(root, 'dist', 'cli', 'main.js');
if (existsSync(compiled)) require(compiled).runFromProcess();
else {
  process.stderr.write(`mde-isolator: not built yet: run \`npm run build\` in ${root} first\n`);
  process.exitCode = 1;
}
