/**
 * Entry point of a label worker thread (started by label-model-pool.ts through label-worker.cjs): loads the COCO
 * detector, reports `ready` or `load-failed`, then runs `detect` messages one at a time in arrival order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { LabelWorkerData, LabelWorkerRequest, LabelWorkerResponse } from './label-worker-protocol';
import { detectObjectsInPixels, loadObjectDetector } from './object-detector';

function send(message: LabelWorkerResponse): void {
  parentPort?.postMessage(message);
}

async function main(): Promise<void> {
  if (parentPort === null) {
    throw new Error('label-worker.ts runs only as a worker thread; start it through LabelModelPool.');
  }
  const { modelsDir } = workerData as LabelWorkerData;

  try {
    await loadObjectDetector(modelsDir);
  } catch (error) {
    send({ type: 'load-failed', message: error instanceof Error ? error.message : String(error) });
    return;
  }

  parentPort.on('message', (request: LabelWorkerRequest) => {
    if (request.crash === true) {
      throw new Error(`Label worker crash injected by a test (request ${request.id}).`);
    }
    const { id, pixels, width, height } = request;
    detectObjectsInPixels({ pixels, width, height }).then(
      (objects) => send({ type: 'detected', id, objects }),
      (error: unknown) =>
        send({ type: 'detect-failed', id, message: error instanceof Error ? error.message : String(error) }),
    );
  });
  send({ type: 'ready' });
}

void main();
