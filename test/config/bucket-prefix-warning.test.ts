import { createRequire } from 'node:module';

const pluginRequire = createRequire(__filename);

type Hook = () => void;

interface PluginUnderTest {
  hooks: Record<string, Hook>;
}

type PluginConstructor = new (
  serverless: unknown,
  options: unknown,
  utils: { log: { warning: (message: string) => void } },
) => PluginUnderTest;

const BucketPrefixWarningPlugin = pluginRequire(
  '../../scripts/serverless/bucket-prefix-warning.js',
) as PluginConstructor;

const PACKAGE_HOOK = 'before:package:initialize';

interface Setup {
  stage: string;
  defaultPrefix?: string;
  stagePrefix?: string;
  cliParams?: string[];
}

/** Runs the plugin's packaging hook against a minimal Serverless instance and returns the warnings it logged. */
function warningsFor({ stage, defaultPrefix, stagePrefix, cliParams = [] }: Setup): string[] {
  const warnings: string[] = [];
  const serverless = {
    service: { service: 'image-pipeline' },
    getProvider: () => ({ getStage: () => stage }),
    processedInput: { options: { param: cliParams } },
    configurationInput: {
      params: {
        default: defaultPrefix === undefined ? {} : { bucketPrefix: defaultPrefix },
        [stage]: stagePrefix === undefined ? {} : { bucketPrefix: stagePrefix },
      },
    },
  };
  const plugin = new BucketPrefixWarningPlugin(
    serverless,
    {},
    {
      log: { warning: (message) => warnings.push(message) },
    },
  );
  plugin.hooks[PACKAGE_HOOK]?.();
  return warnings;
}

describe('bucket prefix warning plugin', () => {
  it('hooks into packaging', () => {
    const plugin = new BucketPrefixWarningPlugin({}, {}, { log: { warning: () => {} } });

    expect(Object.keys(plugin.hooks)).toEqual([PACKAGE_HOOK]);
  });

  it('warns for dev with prefix example', () => {
    expect(warningsFor({ stage: 'dev', defaultPrefix: 'example' })).toHaveLength(1);
  });

  it('names the variable to set', () => {
    const [warning] = warningsFor({ stage: 'dev', defaultPrefix: 'example' });

    expect(warning).toContain('IMAGE_PIPELINE_BUCKET_PREFIX');
  });

  it('names the bucket the stage would create', () => {
    const [warning] = warningsFor({ stage: 'prod', defaultPrefix: 'example' });

    expect(warning).toContain('example-image-pipeline-prod-raw');
  });

  it('stays quiet for dev with its own prefix', () => {
    expect(warningsFor({ stage: 'dev', defaultPrefix: 'acme-images' })).toEqual([]);
  });

  it('stays quiet for stage local', () => {
    expect(warningsFor({ stage: 'local', defaultPrefix: 'example', stagePrefix: 'example' })).toEqual([]);
  });

  it('prefers the stage file over default', () => {
    expect(warningsFor({ stage: 'dev', defaultPrefix: 'example', stagePrefix: 'acme-images' })).toEqual([]);
  });

  it('prefers --param over the stage file', () => {
    const warnings = warningsFor({
      stage: 'dev',
      defaultPrefix: 'acme-images',
      stagePrefix: 'acme-images',
      cliParams: ['bucketPrefix=example'],
    });

    expect(warnings).toHaveLength(1);
  });

  it('ignores other --param keys', () => {
    const warnings = warningsFor({
      stage: 'dev',
      defaultPrefix: 'acme-images',
      cliParams: ['architecture=x86_64'],
    });

    expect(warnings).toEqual([]);
  });
});
