// Validate one glTF/GLB file with the Khronos glTF validator and print its report as JSON.
//
// Usage: node validate_gltf.mjs <file.glb> <node_modules folder>
// External resources (textures by uri) are read relative to the file and may not leave its folder.
// Exit status: 0 with the report on stdout; 2 with one line on stderr when the validator cannot run.

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

const [file, nodeModules] = process.argv.slice(2);
if (!file || !nodeModules) {
  console.error("usage: node validate_gltf.mjs <file.glb> <node_modules folder>");
  process.exit(2);
}

// ES module imports ignore NODE_PATH: resolve the package from the given node_modules instead.
const require = createRequire(path.join(path.resolve(nodeModules), "..", "noop.js"));
let validator;
try {
  validator = require("gltf-validator");
} catch (err) {
  console.error(`cannot load gltf-validator from ${nodeModules}: ${err.message}`);
  process.exit(2);
}

const fullPath = path.resolve(file);
const folder = path.dirname(fullPath);

async function loadExternal(uri) {
  const target = path.resolve(folder, decodeURIComponent(uri));
  const rel = path.relative(folder, target);
  if (rel === ".." || rel.startsWith(".." + path.sep) || path.isAbsolute(rel)) {
    throw new Error(`external resource ${uri} is outside ${folder}`);
  }
  return new Uint8Array(await readFile(target));
}

try {
  const data = new Uint8Array(await readFile(fullPath));
  const report = await validator.validateBytes(data, {
    uri: path.basename(fullPath),
    maxIssues: 0, // 0 = report every issue
    externalResourceFunction: loadExternal,
  });
  process.stdout.write(JSON.stringify(report));
} catch (err) {
  console.error(`glTF validator could not read ${fullPath}: ${err}`);
  process.exit(2);
}
