import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MessageAttributeValue } from './message-digest';

/** One message as a queue stores it. */
export interface StoredMessage {
  messageId: string;
  body: string;
  messageAttributes: Record<string, MessageAttributeValue>;
  sentTimestamp: number;
  receiveCount: number;
  firstReceiveTimestamp?: number;
  /** Epoch milliseconds from which the message can be received again; 0 when it is visible. */
  invisibleUntil: number;
  /** Receipt handle of the latest receive; a delete must present it. */
  receiptHandle?: string;
}

/** Queue settings the local endpoint applies (a subset of SQS queue attributes). */
export interface QueueSettings {
  visibilityTimeoutSeconds: number;
  messageRetentionSeconds: number;
}

// SQS's defaults for a new queue.
export const DEFAULT_QUEUE_SETTINGS: QueueSettings = {
  visibilityTimeoutSeconds: 30,
  messageRetentionSeconds: 345_600,
};

interface QueueFile {
  createdTimestamp: number;
  settings: QueueSettings;
  messages: StoredMessage[];
}

/**
 * One standard queue: messages in arrival order, each hidden for the visibility timeout after a receive until it is
 * deleted. With a folder, the queue is kept in `<folder>/<name>.json` and survives a restart of the stack; every
 * message is visible again after a restart.
 * NOTE: the retention period is stored but not applied; messages stay until they are deleted or purged.
 */
export class LocalQueue {
  private messages: StoredMessage[] = [];
  readonly createdTimestamp: number;

  constructor(
    readonly name: string,
    readonly settings: QueueSettings,
    private readonly file: string | undefined,
  ) {
    const stored = file === undefined ? undefined : readQueueFile(file);
    this.createdTimestamp = stored?.createdTimestamp ?? Date.now();
    this.messages = (stored?.messages ?? []).map((message) => ({
      ...message,
      invisibleUntil: 0,
      receiptHandle: undefined,
    }));
  }

  /** Opens a queue, reading what an earlier run kept in `directory`. */
  static open(name: string, settings: QueueSettings, directory?: string): LocalQueue {
    if (directory !== undefined) mkdirSync(directory, { recursive: true });
    return new LocalQueue(
      name,
      settings,
      directory === undefined ? undefined : path.join(directory, `${name}.json`),
    );
  }

  send(
    body: string,
    messageAttributes: Record<string, MessageAttributeValue>,
    delaySeconds = 0,
  ): StoredMessage {
    const now = Date.now();
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      messageAttributes,
      sentTimestamp: now,
      receiveCount: 0,
      invisibleUntil: delaySeconds > 0 ? now + delaySeconds * 1000 : 0,
    };
    this.messages.push(message);
    this.save();
    return message;
  }

  /** Takes up to `max` visible messages and hides them for `visibilityTimeoutSeconds`. */
  receive(max: number, visibilityTimeoutSeconds: number): StoredMessage[] {
    const now = Date.now();
    const received = this.messages.filter((message) => message.invisibleUntil <= now).slice(0, max);
    for (const message of received) {
      message.receiveCount += 1;
      message.firstReceiveTimestamp ??= now;
      message.invisibleUntil = now + visibilityTimeoutSeconds * 1000;
      message.receiptHandle = `${message.messageId}:${randomUUID()}`;
    }
    if (received.length > 0) this.save();
    return received;
  }

  /** Deletes the message a receipt handle belongs to; false when no stored message has that handle. */
  delete(receiptHandle: string): boolean {
    const index = this.messages.findIndex((message) => message.receiptHandle === receiptHandle);
    if (index === -1) {
      // SQS accepts the handle of a message that is already gone; only a malformed handle is an error.
      return /^[0-9a-f-]{36}:[0-9a-f-]{36}$/.test(receiptHandle);
    }
    this.messages.splice(index, 1);
    this.save();
    return true;
  }

  /** Sets when a received message becomes visible again; false when no stored message has that handle. */
  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): boolean {
    const message = this.messages.find((candidate) => candidate.receiptHandle === receiptHandle);
    if (message === undefined) return false;
    message.invisibleUntil = Date.now() + visibilityTimeoutSeconds * 1000;
    return true;
  }

  purge(): void {
    this.messages = [];
    this.save();
  }

  /** Counts of visible and in-flight messages, as ApproximateNumberOfMessages and ...NotVisible report them. */
  counts(): { visible: number; notVisible: number } {
    const now = Date.now();
    const visible = this.messages.filter((message) => message.invisibleUntil <= now).length;
    return { visible, notVisible: this.messages.length - visible };
  }

  /** Milliseconds until the next hidden message becomes visible, or undefined when none is hidden. */
  nextVisibleInMs(): number | undefined {
    const now = Date.now();
    const hidden = this.messages.filter((message) => message.invisibleUntil > now);
    if (hidden.length === 0) return undefined;
    return Math.min(...hidden.map((message) => message.invisibleUntil)) - now;
  }

  private save(): void {
    if (this.file === undefined) return;
    const content: QueueFile = {
      createdTimestamp: this.createdTimestamp,
      settings: this.settings,
      messages: this.messages,
    };
    // Written through a rename, so a reader or a crash never leaves half a file.
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(content)}\n`);
    renameSync(temporary, this.file);
  }
}

function readQueueFile(file: string): QueueFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as QueueFile;
  } catch (error) {
    throw new Error(`queue file ${file} is not valid JSON: repair or delete it`, { cause: error });
  }
}
