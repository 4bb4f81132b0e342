'use strict';
// Runs TypeScript benches without a build step: `node --require ./bench/register.js bench/parse.ts`.
// Each .ts file is transpiled on load with typescript.transpileModule (CommonJS output, no type check:
// `npm run typecheck` does that).
const fs = require('node:fs');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  sourceMap: false,
  inlineSourceMap: true,
};

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
