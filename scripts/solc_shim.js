#!/usr/bin/env node
/*
 * solc_shim.js: present solc-js (the npm `solc` package, a WebAssembly build of the real
 * compiler) with the command line of a native `solc`, so that py-solc-x / ape-solidity can
 * compile offline without downloading a binary.
 *
 * Only the subset of the native CLI that py-solc-x uses is implemented:
 *
 *   solc --version                      -> "solc, the solidity compiler commandline interface
 *                                           Version: 0.8.30+commit.73712a01.Linux.g++"
 *   solc --standard-json [--base-path P] [--include-path P]... [--allow-paths A,B]
 *                                       -> reads Standard JSON input on stdin, writes the
 *                                          Standard JSON output on stdout
 *
 * Imports that are not in the input's `sources` are resolved by an import callback: the
 * (already remapped) import path is tried as given, then relative to --base-path, then to
 * each --include-path, in that order. --allow-paths is accepted and ignored (solc-js has no
 * file system access of its own; the callback above is the only reader).
 *
 * solc-js prints notices starting with ">>>" on stdout in some modes; they are moved to
 * stderr so that stdout is pure JSON.
 *
 * The npm package is found at $SOLC_JS_DIR, else ../node_modules/solc next to this script.
 * `make` installs a two-line wrapper around this file as .solcx/solc-v<version> (see
 * scripts/install_solc.sh) and exports SOLCX_BINARY_PATH=.solcx, unless a native solc of
 * the right version is on PATH, in which case that one is linked instead.
 */
"use strict";

const fs = require("fs");
const path = require("path");

function usage(message) {
  process.stderr.write(
    `solc shim (solc-js): ${message}\n` +
      "supported: --version | --standard-json [--base-path P] [--include-path P]... [--allow-paths L]\n"
  );
  process.exit(1);
}

function loadSolc() {
  const dir = process.env.SOLC_JS_DIR || path.join(__dirname, "..", "node_modules", "solc");
  try {
    return require(dir);
  } catch (error) {
    usage(`cannot load solc-js from ${dir} (run \`npm ci\`): ${error.message}`);
  }
}

function nativeVersion(solc) {
  // solc-js reports e.g. "0.8.30+commit.73712a01.Emscripten.clang"; native builds say
  // "0.8.30+commit.73712a01.Linux.g++". The compiler (and so the bytecode) is the same.
  const version = solc.version().replace(/\.Emscripten\.clang$/, ".Linux.g++");
  return `solc, the solidity compiler commandline interface\nVersion: ${version}\n`;
}

function parseArguments(argv) {
  const options = { standardJson: false, version: false, basePath: null, includePaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    const [flag, inlineValue] = argument.startsWith("--") && argument.includes("=")
      ? [argument.slice(0, argument.indexOf("=")), argument.slice(argument.indexOf("=") + 1)]
      : [argument, undefined];
    const value = () => {
      if (inlineValue !== undefined) return inlineValue;
      if (i + 1 >= argv.length) usage(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case "--version":
        options.version = true;
        break;
      case "--standard-json":
        options.standardJson = true;
        break;
      case "--base-path":
        options.basePath = value();
        break;
      case "--include-path":
        options.includePaths.push(value());
        break;
      case "--allow-paths":
        value(); // dropped: the import callback decides what is readable
        break;
      case "-":
        break; // "read stdin": implied by --standard-json
      default:
        usage(`unsupported argument ${JSON.stringify(argument)}`);
    }
  }
  return options;
}

function importCallback(options) {
  const roots = [options.basePath, ...options.includePaths].filter(Boolean);
  return (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : [importPath, ...roots.map((root) => path.join(root, importPath))];
    for (const candidate of candidates) {
      try {
        if (fs.statSync(candidate).isFile()) {
          return { contents: fs.readFileSync(candidate, "utf8") };
        }
      } catch (_) {
        // not here; try the next root
      }
    }
    return { error: `File not found: ${importPath} (looked in: ${["."].concat(roots).join(", ")})` };
  };
}

function withoutNotices(text) {
  const kept = [];
  for (const line of text.split("\n")) {
    if (line.startsWith(">>>")) process.stderr.write(line + "\n");
    else kept.push(line);
  }
  return kept.join("\n");
}

function main() {
  const options = parseArguments(process.argv.slice(2));
  const solc = loadSolc();
  if (options.version) {
    process.stdout.write(nativeVersion(solc));
    return;
  }
  if (!options.standardJson) usage("only --standard-json mode is implemented");

  const input = fs.readFileSync(0, "utf8");
  // Anything solc-js itself logs while compiling goes to stderr, never into the JSON.
  const log = console.log;
  console.log = (...args) => process.stderr.write(args.join(" ") + "\n");
  let output;
  try {
    output = solc.compile(input, { import: importCallback(options) });
  } finally {
    console.log = log;
  }
  process.stdout.write(withoutNotices(output) + "\n");
}

main();
