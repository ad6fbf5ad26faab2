// Print a YAML file as JSON (for test_install.py, which has only Python's standard library).
//   node yaml-to-json.mjs FILE
import { readFileSync } from "node:fs";
import YAML from "yaml";

const [file] = process.argv.slice(2);
if (!file) {
  console.error("usage: node yaml-to-json.mjs FILE");
  process.exit(2);
}
process.stdout.write(JSON.stringify(YAML.parse(readFileSync(file, "utf8"))) + "\n");
