// Exit cleanup for labs owned by this process (labUp without `persistent`):
// an aborted test run still tears its labs down. Handlers run synchronously
// because nothing asynchronous runs after "exit" or during a fatal signal.

const owned = new Map<string, () => void>();
let installed = false;
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

function runAll(): void {
  for (const [id, teardown] of [...owned]) {
    owned.delete(id);
    try {
      teardown();
    } catch {
      // best effort: keep cleaning the other labs
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  runAll();
  // If nobody else handles the signal, restore the default action (terminate).
  if (process.listenerCount(sig) === 1) {
    process.removeListener(sig, onSignal);
    process.kill(process.pid, sig);
  }
}

export function registerOwned(id: string, teardownSync: () => void): void {
  owned.set(id, teardownSync);
  if (installed) return;
  installed = true;
  process.on("exit", runAll);
  for (const sig of SIGNALS) process.on(sig, onSignal);
}

export function unregisterOwned(id: string): void {
  owned.delete(id);
}
