import type { DetectedObject } from './object-detector';

/** Data a label worker thread starts with. */
export interface LabelWorkerData {
  /** Folder with centernet.json and its weights. */
  modelsDir: string;
}

/** Messages from the endpoint's thread to a label worker. */
export type LabelWorkerRequest = {
  type: 'detect';
  id: number;
  /** Upright RGB pixels widened to int32, transferred rather than copied. */
  pixels: Int32Array<ArrayBuffer>;
  width: number;
  height: number;
  /** Test hook: the worker throws an uncaught exception instead of detecting, as a bug in the model code would. */
  crash?: true;
};

/** Messages from a label worker to the endpoint's thread. */
export type LabelWorkerResponse =
  | { type: 'ready' }
  | { type: 'load-failed'; message: string }
  | { type: 'detected'; id: number; objects: DetectedObject[] }
  | { type: 'detect-failed'; id: number; message: string };
