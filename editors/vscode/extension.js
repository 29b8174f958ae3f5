// Starts `clause lsp` (the clause language server, over stdio) for clause files.
'use strict';

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const configured = vscode.workspace.getConfiguration('clause').get('server.command', ['clause', 'lsp']);
  const [command, ...args] = configured.length ? configured : ['clause', 'lsp'];
  // No `transport`: the client then talks over the process's stdin/stdout as they are
  // (TransportKind.stdio would add a --stdio argument to the command).
  const serverOptions = { command, args };
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'clause' }],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.clause') },
  };
  client = new LanguageClient('clause', 'clause language server', serverOptions, clientOptions);
  client.start().catch((error) => {
    vscode.window.showErrorMessage(
      `clause: could not start the language server with \`${[command, ...args].join(' ')}\` ` +
      `(${error.message}). Install clause (pip install -e .) or set "clause.server.command".`);
  });
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
