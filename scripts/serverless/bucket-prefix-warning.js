// Serverless plugin: warns when a stage other than `local` is packaged with the placeholder bucket prefix `example`.
// S3 bucket names are global across all AWS accounts, so `example-image-pipeline-<stage>-raw` probably belongs to
// someone else and the deployment would fail when CloudFormation creates the bucket. It only warns, because CI
// packages and checks stages without a prefix of its own. The pipelines' deploy jobs stop such a package before it
// is deployed.

/** The fallback of `bucketPrefix` in config/stages/default.yml. */
const PLACEHOLDER_PREFIX = 'example';
/** Environment variable that default.yml reads `bucketPrefix` from. */
const PREFIX_VARIABLE = 'IMAGE_PIPELINE_BUCKET_PREFIX';
/** Stages that never reach AWS: the local stack's buckets need no prefix of their own. */
const LOCAL_STAGES = new Set(['local']);

/**
 * Returns a stage parameter's value with osls 4.3.1's precedence: `--param="NAME=VALUE"` on the command line, then
 * the stage's section of `params:`, then `params.default`. Returns undefined when none sets it.
 */
function stageParameter(serverless, stage, name) {
  const cliParams = serverless.processedInput?.options?.param ?? [];
  for (const item of [cliParams].flat()) {
    const separator = String(item).indexOf('=');
    if (separator > 0 && String(item).slice(0, separator) === name) {
      return String(item)
        .slice(separator + 1)
        .trimEnd();
    }
  }
  const params = serverless.configurationInput?.params ?? {};
  return params[stage]?.[name] ?? params.default?.[name] ?? undefined;
}

class BucketPrefixWarningPlugin {
  constructor(serverless, _options, { log }) {
    this.serverless = serverless;
    this.log = log;
    this.hooks = {
      'before:package:initialize': () => this.warnAboutPlaceholderPrefix(),
    };
  }

  warnAboutPlaceholderPrefix() {
    const stage = this.serverless.getProvider('aws').getStage();
    if (LOCAL_STAGES.has(stage)) return;
    const prefix = stageParameter(this.serverless, stage, 'bucketPrefix');
    if (prefix !== PLACEHOLDER_PREFIX) return;

    const service = this.serverless.service.service;
    this.log.warning(
      `Stage "${stage}" is packaged with the placeholder bucket prefix "${PLACEHOLDER_PREFIX}", so its raw bucket ` +
        `is named ${PLACEHOLDER_PREFIX}-${service}-${stage}-raw. S3 bucket names are global across all AWS ` +
        `accounts, so deploying this package will probably fail. Set ${PREFIX_VARIABLE} (or bucketPrefix in ` +
        `config/stages/${stage}.yml) to a prefix of your own and package again.`,
    );
  }
}

module.exports = BucketPrefixWarningPlugin;
