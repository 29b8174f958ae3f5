// Smoke test of a packaged extension, outside VS Code:
//
//   node scripts/check_vsix.js EXTENSION_DIR COMMAND [ARG...]
//
// EXTENSION_DIR is the `extension/` folder of an unpacked .vsix. The script loads
// its extension.js with a stand-in for the `vscode` module (which only VS Code
// provides), lets activate() make its LanguageClient from the bundled
// vscode-languageclient, and that client start COMMAND (e.g. `clause lsp`) and
// finish the initialize handshake. It prints the server's name and capabilities
// and exits 0, or exits 1 with the client's error messages.
'use strict';

const Module = require('module');
const path = require('path');

const [extensionDir, ...command] = process.argv.slice(2);
if (!extensionDir || command.length === 0) {
  console.error('usage: node check_vsix.js EXTENSION_DIR COMMAND [ARG...]');
  process.exit(2);
}

// Any API the client touches that is not spelt out below: a callable that returns more of itself.
function stub() {
  return new Proxy(function () {}, {
    get(target, prop) {
      if (prop === 'then') return undefined; // not a promise
      if (prop === 'dispose') return () => {};
      return stub();
    },
    apply() { return stub(); },
    construct() { return stub(); },
  });
}
function withStubs(object) {
  return new Proxy(object, { get: (target, prop) => (prop in target ? target[prop] : stub()) });
}
class Disposable {
  constructor(dispose) { this.dispose = dispose || (() => {}); }
  static from(...all) { return new Disposable(() => all.forEach((d) => d && d.dispose && d.dispose())); }
}
class EventEmitter {
  constructor() { this.listeners = []; this.event = (f) => { this.listeners.push(f); return new Disposable(); }; }
  fire(e) { this.listeners.forEach((f) => f(e)); }
  dispose() {}
}
const problems = [];
const log = [];
const channel = {};
for (const name of ['append', 'appendLine', 'info', 'warn', 'error', 'trace', 'debug']) {
  channel[name] = (message) => log.push(String(message));
}
Object.assign(channel, { show() {}, clear() {}, replace() {}, dispose() {} });
const vscode = withStubs({
  Disposable, EventEmitter, version: '1.90.0',
  env: { language: 'en', appName: 'check_vsix', machineId: '0', sessionId: '0', uiKind: 1 },
  workspace: withStubs({
    workspaceFolders: [], textDocuments: [],
    // The extension's setting: the command that starts the server.
    getConfiguration: () => ({ get: (key, fallback) => (key === 'server.command' ? command : fallback) }),
  }),
  window: withStubs({
    createOutputChannel: () => channel,
    showErrorMessage: (message) => { problems.push(message); return Promise.resolve(undefined); },
  }),
});
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === 'vscode' ? 'vscode' : resolve.call(this, request, ...rest);
};
require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: vscode };

// The client class the extension will use, from the package's own node_modules.
const { LanguageClient } = require(path.join(extensionDir, 'node_modules', 'vscode-languageclient', 'node'));
const start = LanguageClient.prototype.start;
LanguageClient.prototype.start = async function () {
  try {
    await start.call(this);
  } catch (error) {
    fail(error.message);
  }
  const { serverInfo, capabilities } = this.initializeResult;
  console.log(`server: ${serverInfo.name} ${serverInfo.version}`);
  console.log(`capabilities: ${Object.keys(capabilities).sort().join(', ')}`);
  await extension.deactivate();
  console.log('stopped cleanly');
  process.exit(0);
};
function fail(message) {
  console.error(`check_vsix: the client did not start the server: ${message}`);
  for (const line of [...problems, ...log]) console.error(`  ${line}`);
  process.exit(1);
}

const extension = require(path.resolve(extensionDir, 'extension.js'));
extension.activate({ subscriptions: [], extensionPath: extensionDir, asAbsolutePath: (p) => path.join(extensionDir, p) });
setTimeout(() => fail("no answer to initialize within 60 s"), 60000);
