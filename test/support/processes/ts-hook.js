// Loaded with `node -r` into a child process a test starts: compiles each TypeScript file of the repository
// as it is required, file by file with the repository's compiler options, as ts-jest does for the tests
// themselves (tsconfig.json has isolatedModules, so a file compiles on its own). Node 20 runs no
// TypeScript by itself, and a test must run the code as it is, not a dist/ built earlier.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const ts = require('typescript');

const root = join(__dirname, '..', '..', '..');
const { config } = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, root);
const compilerOptions = { ...options, sourceMap: false, inlineSourceMap: true, inlineSources: false };

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), {
    compilerOptions,
    fileName: filename,
  });
  module._compile(outputText, filename);
};
