/** Lambda's name for each Node.js `process.arch` that Lambda supports. */
const LAMBDA_ARCHITECTURE_BY_NODE_ARCH = { arm64: 'arm64', x64: 'x86_64' };

/**
 * Returns the Lambda architecture of this machine, for stages whose packaged code must load on the host
 * (serverless.yml reads it with `${file(./scripts/host-architecture.js)}`).
 */
module.exports = () => {
  const architecture = LAMBDA_ARCHITECTURE_BY_NODE_ARCH[process.arch];
  if (architecture === undefined) {
    throw new Error(
      `This machine's CPU architecture "${process.arch}" has no Lambda equivalent (arm64 or x86_64). ` +
        'Set the stage architecture explicitly, for example --param="architecture=x86_64".',
    );
  }
  return architecture;
};
