// Worker thread that parses and lints finetune scripts, DeepSpeed configs and Python files for the editor, so
// tree-sitter parsing and the rules never run on the extension host thread.
import { parentPort } from 'node:worker_threads';
import { ScriptLintService, StaleVersionError } from '../core/script/service';
import type { WorkerMessage, WorkerReply } from '../core/script/protocol';

const service = new ScriptLintService();
const port = parentPort;
if (!port) throw new Error('scriptLint.js must run as a worker thread');

// One request at a time, in arrival order: an analyze is always answered before a hover sent after it.
let queue: Promise<void> = Promise.resolve();
port.on('message', (message: WorkerMessage) => {
  queue = queue.then(async () => {
    let reply: WorkerReply;
    try {
      reply = { id: message.id, ok: true, response: await service.handle(message.request) };
    } catch (error) {
      reply = { id: message.id, ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error), stale: error instanceof StaleVersionError };
    }
    port.postMessage(reply);
  });
});
