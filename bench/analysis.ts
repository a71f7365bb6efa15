import type { BundleSection } from './bundle';
import type { PipelineSection } from './pipeline';
import { formatKiB, formatMs, formatSummary, summarize } from './stats';
import type { TargetResult } from './targets';

/**
 * Writes the paragraphs whose content depends on this run's figures: what limits each target that is not met, and
 * which way of shipping the AWS SDK to choose.
 */
export function analyse(
  targets: readonly TargetResult[],
  bundles: BundleSection,
  pipeline: PipelineSection,
): { limits: string; recommendation: string } {
  const unmet = targets.filter((target) => !target.met);
  const lines: string[] = [];
  const configured = bundles.sizes.filter((size) => size.variant === bundles.sizes[0]?.variant);
  const sizeOf = (key: string, variantIndex: number) =>
    bundles.sizes.filter((size) => size.functionKey === key)[variantIndex];
  const initOf = (key: string, variantIndex: number) =>
    bundles.coldInit.filter((result) => result.functionKey === key)[variantIndex];

  for (const target of unmet) {
    if (target.target.startsWith('Each handler bundle')) {
      const parts = configured.map((size) => {
        const commonJs = sizeOf(size.functionKey, 1);
        const external = sizeOf(size.functionKey, 2);
        return (
          `${size.functionKey} is ${formatKiB(size.handlerBytes)} as configured (the SDK's ES module builds), ` +
          `${formatKiB(commonJs?.handlerBytes ?? 0)} from its CommonJS builds and ` +
          `${formatKiB(external?.handlerBytes ?? 0)} without the SDK`
        );
      });
      lines.push(
        `- **Bundle size.** The AWS SDK (S3, DynamoDB with its document client, Rekognition, and the Smithy core ` +
          `they share) is almost all of each bundle: ${parts.join('; ')}. Tree-shaking the ES module builds drops ` +
          "unused commands but keeps each client's middleware, serialisers and credential chain, so only the " +
          "runtime's copy of the SDK brings a handler under 150 KiB.",
      );
    } else if (target.target.startsWith('Cold initialisation')) {
      const parts = configured.map((size) => {
        const init = initOf(size.functionKey, 0);
        const external = initOf(size.functionKey, 2);
        return (
          `${size.functionKey} ${formatMs(init?.requireMs.median ?? 0)} as configured and ` +
          `${formatMs(external?.requireMs.median ?? 0)} with the SDK from node_modules`
        );
      });
      lines.push(
        `- **Cold initialisation.** Loading sharp alone takes ${formatSummary(bundles.sharpRequireMs)}, because its native ` +
          'addon links libvips and its dependencies (about 20 MB of shared libraries). Whole handlers take ' +
          `${parts.join('; ')}, mostly the AWS SDK's module code and clients beyond sharp. With the SDK's CommonJS ` +
          `builds they take ${configured
            .map(
              (size) => `${size.functionKey} ${formatMs(initOf(size.functionKey, 1)?.requireMs.median ?? 0)}`,
            )
            .join(' and ')}. Both functions need the S3 and DynamoDB clients on every event, and ` +
          'createThumbnail needs sharp on every event, so loading them lazily would only move this time into the ' +
          'first invocation, which the caller waits for as well. analyzeImage loads sharp only when it converts an ' +
          'image for Rekognition, so its figure excludes sharp.',
      );
    } else if (target.target.includes('vipsthumbnail')) {
      lines.push(
        `- **Thumbnail against vipsthumbnail** (${target.figure}). Both decode the JPEG at 1/8 scale in ` +
          'libjpeg-turbo, which is most of the time. createThumbnail also reads the header first (the pixel-limit and ' +
          'format gate) and encodes from raw pixels in a second sharp call, after checking alpha. That is three trips ' +
          "to Node.js's thread pool, each of which waits for a core when other jobs keep the machine busy.",
      );
    } else if (target.target.startsWith('Local pipeline')) {
      const inference = summarize(pipeline.models.map((model) => model.inferenceMs.median));
      const largest = pipeline.runs.reduce((a, b) => (b.count > a.count ? b : a));
      lines.push(
        `- **Local pipeline.** The label model infers in ${formatMs(inference.median)} per photo (median) in a ` +
          "worker thread, while the stack's main thread serves the local S3, DynamoDB and API Gateway, decodes " +
          `images for the model and runs the batch's polling. That thread was busy ` +
          `${(largest.mainThreadBusy * 100).toFixed(0)}% of the N = ${largest.count} run, and the functions share ` +
          'the two cores with both threads, so on a busy machine the pipeline falls behind the model alone.',
      );
    } else {
      lines.push(`- **${target.target}**: ${target.figure}.`);
    }
  }
  const limits =
    unmet.length === 0
      ? 'Every target is met in this run.'
      : ['What limits the targets that are not met:', '', ...lines].join('\n');

  return { limits, recommendation: recommend(bundles) };
}

/**
 * Picks the variant whose cold initialisation, summed over both functions, is the shortest, and explains the choice
 * against the size target, which only the runtime's SDK meets.
 */
function recommend(bundles: BundleSection): string {
  const variants = [...new Set(bundles.sizes.map((size) => size.variant))];
  const initTotal = (variant: (typeof variants)[number]) =>
    bundles.coldInit
      .filter((result) => result.variant === variant)
      .reduce((sum, result) => sum + result.requireMs.median, 0);
  const sizesOf = (variant: (typeof variants)[number]) =>
    bundles.sizes
      .filter((size) => size.variant === variant)
      .map((size) => `${size.functionKey} ${formatKiB(size.handlerBytes)}`)
      .join(', ');
  const initsOf = (variant: (typeof variants)[number]) =>
    bundles.coldInit
      .filter((result) => result.variant === variant)
      .map((result) => `${result.functionKey} ${formatMs(result.requireMs.median)}`)
      .join(', ');
  const [configured, commonJs, external] = variants;
  if (configured === undefined || commonJs === undefined || external === undefined) return '';
  const fastest = [...variants].sort((a, b) => initTotal(a) - initTotal(b))[0] ?? configured;

  const lines = ['### Which variant to ship', ''];
  if (fastest === external) {
    lines.push(
      `Recommended: ${external.name}, with \`${external.serverlessChange}\` in serverless.yml. It initialised ` +
        `fastest here (${initsOf(external)}) and is the only variant under 150 KiB (${sizesOf(external)}).`,
    );
  } else {
    lines.push(
      `Recommended: ${fastest.name}${fastest.serverlessChange === undefined ? '' : `, with \`${fastest.serverlessChange}\` in serverless.yml`}. ` +
        `It initialised fastest here: ${initsOf(fastest)}, against ${variants
          .filter((variant) => variant !== fastest)
          .map((variant) => `${variant.name}: ${initsOf(variant)}`)
          .join('; ')}. Its bundles are ${sizesOf(fastest)}, so it ` +
        `misses the 150 KiB target, which only the runtime's SDK meets (${sizesOf(external)}). The zips barely ` +
        'differ, because sharp is most of each zip in every variant.',
    );
  }
  if (fastest === external) return lines.join('\n');
  lines.push(
    '',
    "Leaving the SDK to the runtime costs more than it saves here. The version then is the Lambda runtime's, not " +
      "package-lock.json's, and it changes when AWS updates the runtime, so the code runs against an SDK that the " +
      'tests never ran. The local stack runs the zips as they are, so its execution environments would also need ' +
      "the project's node_modules on `NODE_PATH` to stand in for the runtime's copy. Its cold start here loads the " +
      'SDK from node_modules, file by file, as the runtime loads its copy from /var/runtime/node_modules instead of ' +
      'from the bundle. NOTE: that is the closest stand-in on this machine; only a deployed function measures ' +
      "Lambda's own copy.",
  );
  return lines.join('\n');
}
