// Serverless plugin: makes serverless-esbuild's install of external modules put sharp's binaries for the
// functions' architecture into the zip, from npm's cache. List it before serverless-esbuild in serverless.yml,
// because both act on the same lifecycle hooks and plugins run in list order.
//
// serverless-esbuild runs `npm ci`, `npm prune` and `npm ls` in its build folder. npm selects sharp's binary
// packages by its `os`, `cpu` and `libc` settings, and `npm prune` removes those of other platforms, so the
// settings go into the environment that every one of those commands inherits, not only into the install.

const {
  ensureSharpCached,
  hostPlatform,
  lambdaPlatform,
  offlineNpmEnv,
  platformLabel,
} = require('./sharp-packages');

/** Lambda's default when neither the provider nor the function sets an architecture. */
const LAMBDA_DEFAULT_ARCHITECTURE = 'x86_64';

class SharpPackagingPlugin {
  constructor(serverless, _options, { log }) {
    this.serverless = serverless;
    this.log = log;
    /** @type {Record<string, string | undefined> | undefined} */
    this.savedEnv = undefined;

    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.useNpmPlatform(this.lambdaPlatform()),
      'after:package:createDeploymentArtifacts': () => this.restoreEnv(),
      'before:deploy:function:packageFunction': () => this.useNpmPlatform(this.lambdaPlatform()),
      'after:deploy:function:packageFunction': () => this.restoreEnv(),
      // `sls invoke local` loads the build folder's node_modules on this machine.
      'before:invoke:local:invoke': () => this.useNpmPlatform(hostPlatform()),
      'after:invoke:local:invoke': () => this.restoreEnv(),
    };
  }

  /**
   * Returns the npm platform of the functions. One install serves every function, so all functions must share
   * the provider's architecture.
   */
  lambdaPlatform() {
    const service = this.serverless.service;
    const architecture = service.provider.architecture ?? LAMBDA_DEFAULT_ARCHITECTURE;
    for (const name of service.getAllFunctions()) {
      const own = service.getFunction(name).architecture;
      if (own !== undefined && own !== architecture) {
        throw new this.serverless.classes.Error(
          `Function "${name}" sets architecture ${own} but the provider uses ${architecture}. sharp is installed ` +
            'once for all functions, so set the architecture on the provider only.',
        );
      }
    }
    return lambdaPlatform(architecture);
  }

  /** Checks that npm's cache can serve sharp for `platform`, then points npm at that platform, offline. */
  useNpmPlatform(platform) {
    const started = Date.now();
    try {
      const { fetched } = ensureSharpCached(this.serverless.serviceDir, platform, (message) =>
        this.log.notice(message),
      );
      const verb = fetched ? 'fetched into' : 'found in';
      this.log.verbose(
        `sharp for ${platformLabel(platform)} ${verb} the npm cache (${Date.now() - started} ms)`,
      );
    } catch (error) {
      throw new this.serverless.classes.Error(error instanceof Error ? error.message : String(error));
    }

    const env = offlineNpmEnv(platform);
    this.savedEnv = {};
    for (const [name, value] of Object.entries(env)) {
      this.savedEnv[name] = process.env[name];
      process.env[name] = value;
    }
  }

  restoreEnv() {
    if (this.savedEnv === undefined) return;
    for (const [name, value] of Object.entries(this.savedEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    this.savedEnv = undefined;
  }
}

module.exports = SharpPackagingPlugin;
