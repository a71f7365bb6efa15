// Finds the npm packages that make up sharp for one platform and makes sure npm's cache contains them. The
// packaging install (serverless-esbuild runs `npm ci` in its build folder) can then run with `offline=true`.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/**
 * @typedef {{ os: string, cpu: string, libc?: string }} NpmPlatform
 * Values of npm's `os`, `cpu` and `libc` settings, which select the optional dependencies npm installs.
 */

/** npm's `cpu` value for each Lambda architecture. */
const NPM_CPU_BY_LAMBDA_ARCHITECTURE = { arm64: 'arm64', x86_64: 'x64' };

/**
 * Returns the npm platform of a Lambda function: Lambda's Node.js runtimes run on Amazon Linux, which uses glibc.
 * @param {string} architecture Lambda architecture, `arm64` or `x86_64`.
 * @returns {NpmPlatform}
 */
function lambdaPlatform(architecture) {
  const cpu = NPM_CPU_BY_LAMBDA_ARCHITECTURE[architecture];
  if (cpu === undefined) {
    throw new Error(`Lambda architecture "${architecture}" is not supported: use arm64 or x86_64.`);
  }
  return { os: 'linux', cpu, libc: 'glibc' };
}

/**
 * Returns the npm platform of this machine, for code that runs here (such as `sls invoke local`).
 * @returns {NpmPlatform}
 */
function hostPlatform() {
  if (process.platform !== 'linux') return { os: process.platform, cpu: process.arch };
  const header = /** @type {{ glibcVersionRuntime?: string }} */ (process.report.getReport().header);
  return { os: 'linux', cpu: process.arch, libc: header.glibcVersionRuntime ? 'glibc' : 'musl' };
}

/** Describes a platform the way sharp names its binary packages, such as `linux-arm64`. */
function platformLabel(platform) {
  return `${platform.os}-${platform.cpu}${platform.libc === 'musl' ? ' (musl)' : ''}`;
}

/**
 * Environment variables that make npm install for `platform` from its cache only. Child processes inherit them,
 * so they apply to every npm command the packager runs (install, prune, ls).
 * @param {NpmPlatform} platform
 * @returns {Record<string, string>}
 */
function offlineNpmEnv(platform) {
  const env = { npm_config_offline: 'true', npm_config_os: platform.os, npm_config_cpu: platform.cpu };
  if (platform.libc !== undefined) env.npm_config_libc = platform.libc;
  return env;
}

/** Applies npm's rule for `os`, `cpu` and `libc` lists: entries may name allowed values or `!excluded` ones. */
function matchesList(list, value) {
  if (!Array.isArray(list) || value === undefined) return true;
  if (list.includes(`!${value}`)) return false;
  const allowed = list.filter((entry) => !entry.startsWith('!'));
  return allowed.length === 0 || allowed.includes(value);
}

function readLockfile(projectDir) {
  const lockfilePath = path.join(projectDir, 'package-lock.json');
  if (!fs.existsSync(lockfilePath)) {
    throw new Error(
      `${lockfilePath} not found: the packager installs sharp from the lockfile, so run npm install.`,
    );
  }
  return JSON.parse(fs.readFileSync(lockfilePath, 'utf8'));
}

/**
 * Lists `name@version` of sharp, its dependencies and its binaries for `platform`, as locked in
 * package-lock.json (lockfile version 2 or 3).
 * @param {{ packages?: Record<string, any> }} lockfile
 * @param {NpmPlatform} platform
 * @returns {string[]}
 */
function sharpPackageSpecs(lockfile, platform) {
  const packages = lockfile.packages ?? {};
  const specs = new Set();
  let binaryFound = false;

  // npm resolves a dependency from the nearest node_modules folder up the tree, and so does this lookup.
  const locate = (parentLocation, name) => {
    let location = parentLocation;
    while (true) {
      const candidate = `${location}/node_modules/${name}`;
      if (packages[candidate] !== undefined) return candidate;
      const parent = location.lastIndexOf('/node_modules/');
      if (parent === -1) break;
      location = location.slice(0, parent);
    }
    const topLevel = `node_modules/${name}`;
    return packages[topLevel] !== undefined ? topLevel : undefined;
  };

  const visit = (location, name) => {
    const entry = packages[location];
    const spec = `${name}@${entry.version}`;
    if (specs.has(spec)) return;
    specs.add(spec);
    if (name.startsWith('@img/sharp-') && name !== '@img/sharp-wasm32') binaryFound = true;

    for (const dependency of Object.keys(entry.dependencies ?? {})) {
      const dependencyLocation = locate(location, dependency);
      if (dependencyLocation === undefined) {
        throw new Error(`package-lock.json lacks ${dependency}, a dependency of ${name}: run npm install.`);
      }
      visit(dependencyLocation, dependency);
    }
    for (const dependency of Object.keys(entry.optionalDependencies ?? {})) {
      const dependencyLocation = locate(location, dependency);
      if (dependencyLocation === undefined) continue;
      const candidate = packages[dependencyLocation];
      const fits =
        matchesList(candidate.os, platform.os) &&
        matchesList(candidate.cpu, platform.cpu) &&
        matchesList(candidate.libc, platform.libc);
      if (fits) visit(dependencyLocation, dependency);
    }
  };

  if (packages['node_modules/sharp'] === undefined) {
    throw new Error('package-lock.json has no sharp: add it with npm install sharp.');
  }
  visit('node_modules/sharp', 'sharp');
  if (!binaryFound) {
    throw new Error(`The locked sharp has no prebuilt binary for ${platformLabel(platform)}.`);
  }
  return [...specs].sort();
}

/** Keeps the first lines of npm's output without stack frames: enough to name the failure. */
function summarizeNpmOutput(output) {
  const lines = output.split('\n').filter((line) => !/^(npm error)?\s+at /.test(line));
  return lines.slice(0, 6).join('\n');
}

function runNpm(args, cwd, env) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  return {
    ok: result.status === 0,
    output: result.error ? String(result.error) : summarizeNpmOutput(output),
  };
}

/**
 * Runs the packager's install of sharp for `platform` with npm offline, in a scratch folder. This is the only
 * faithful cache check: npm's offline installs need cached package metadata as well as the tarballs.
 */
function tryOfflineInstall(projectDir, lockfile, platform) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sharp-offline-check-'));
  try {
    const version = lockfile.packages['node_modules/sharp'].version;
    const manifest = { name: 'sharp-offline-check', private: true, dependencies: { sharp: version } };
    fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify(manifest));
    fs.copyFileSync(path.join(projectDir, 'package-lock.json'), path.join(scratch, 'package-lock.json'));
    return runNpm(['ci', '--ignore-scripts', '--no-audit', '--no-fund'], scratch, offlineNpmEnv(platform));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Downloads `specs` into npm's cache, failing fast when the registry cannot be reached. */
function addToNpmCache(projectDir, specs) {
  return runNpm(['cache', 'add', ...specs], projectDir, {
    npm_config_offline: 'false',
    npm_config_fetch_retries: '0',
    npm_config_fetch_timeout: '30000',
  });
}

/**
 * Makes sure npm can install sharp for `platform` offline. When the cache lacks a package, this fetches it from the
 * registry once. With no registry access it throws an error that names the packages and the command to run.
 * @param {string} projectDir Folder with package.json and package-lock.json.
 * @param {NpmPlatform} platform
 * @param {(message: string) => void} [notice]
 * @returns {{ fetched: boolean, specs: string[] }}
 */
function ensureSharpCached(projectDir, platform, notice = () => {}) {
  const lockfile = readLockfile(projectDir);
  const specs = sharpPackageSpecs(lockfile, platform);

  const firstTry = tryOfflineInstall(projectDir, lockfile, platform);
  if (firstTry.ok) return { fetched: false, specs };
  if (!firstTry.output.includes('ENOTCACHED')) {
    throw new Error(
      `npm could not install sharp for ${platformLabel(platform)} offline:\n${firstTry.output}`,
    );
  }

  notice(`sharp for ${platformLabel(platform)} is not in the npm cache; fetching ${specs.join(', ')} once`);
  const fetch = addToNpmCache(projectDir, specs);
  if (!fetch.ok) {
    throw new Error(
      `sharp for ${platformLabel(platform)} (${specs.join(', ')}) is not in the npm cache and the npm registry ` +
        'could not be reached. Run `node scripts/cache-sharp-packages.js` once with access to the registry, ' +
        `then package again.\nnpm output:\n${fetch.output}`,
    );
  }

  const secondTry = tryOfflineInstall(projectDir, lockfile, platform);
  if (!secondTry.ok) {
    throw new Error(
      `npm still cannot install sharp for ${platformLabel(platform)} offline after caching it:\n${secondTry.output}`,
    );
  }
  return { fetched: true, specs };
}

module.exports = {
  ensureSharpCached,
  hostPlatform,
  lambdaPlatform,
  offlineNpmEnv,
  platformLabel,
  sharpPackageSpecs,
};
