// Serverless plugin: lets one `sls package` (or `sls invoke local`) at a time use this checkout's build folders.
// serverless-esbuild bundles into .esbuild/ and installs sharp there, so two runs at once (the tests and
// `npm start`, say) delete each other's files. List it first in serverless.yml, so it holds the lock before
// serverless-esbuild starts and releases it after the package is complete.

const fs = require('node:fs');
const path = require('node:path');

const LOCK_FILE = '.esbuild.lock';
const POLL_MS = 500;
// A package takes about 10 s here; a lock held far longer than that belongs to a run that hangs.
const MAX_WAIT_MS = 10 * 60 * 1000;

function isProcessAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

class BuildFolderLockPlugin {
  constructor(serverless, _options, { log }) {
    this.serverless = serverless;
    this.log = log;
    this.lockPath = path.join(serverless.serviceDir, LOCK_FILE);
    this.held = false;
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.acquire(),
      'after:package:finalize': () => this.release(),
      'before:deploy:function:packageFunction': () => this.acquire(),
      'after:deploy:function:deploy': () => this.release(),
      'before:invoke:local:invoke': () => this.acquire(),
      'after:invoke:local:invoke': () => this.release(),
    };
    process.once('exit', () => this.release());
  }

  /** Returns the pid in the lock file when that process still runs, undefined for a missing or stale lock. */
  holder() {
    let pid;
    try {
      pid = Number(fs.readFileSync(this.lockPath, 'utf8').trim());
    } catch {
      return undefined;
    }
    return Number.isInteger(pid) && pid > 0 && isProcessAlive(pid) ? pid : undefined;
  }

  async acquire() {
    if (this.held) return;
    const started = Date.now();
    let announced = false;
    for (;;) {
      try {
        fs.writeFileSync(this.lockPath, `${process.pid}\n`, { flag: 'wx' });
        this.held = true;
        return;
      } catch (error) {
        if (error.code !== 'EEXIST') throw error;
      }
      const pid = this.holder();
      if (pid === undefined) {
        // The run that wrote the lock has ended without removing it.
        fs.rmSync(this.lockPath, { force: true });
        continue;
      }
      if (Date.now() - started > MAX_WAIT_MS) {
        throw new this.serverless.classes.Error(
          `Another sls run (pid ${pid}) has held ${this.lockPath} for over ${MAX_WAIT_MS / 60000} minutes. ` +
            'Stop it, or delete the file if that process is not an sls run.',
        );
      }
      if (!announced) {
        this.log.notice(`waiting for another sls run in this folder (pid ${pid}) to finish with .esbuild/`);
        announced = true;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  release() {
    if (!this.held) return;
    this.held = false;
    try {
      if (fs.readFileSync(this.lockPath, 'utf8').trim() === String(process.pid)) fs.rmSync(this.lockPath);
    } catch {
      // Already gone.
    }
  }
}

module.exports = BuildFolderLockPlugin;
