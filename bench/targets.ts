import type { BundleSection } from './bundle';
import type { BenchInputs } from './inputs';
import type { MemoryResult } from './memory';
import type { PipelineSection } from './pipeline';
import type { ThumbnailInputResult } from './thumbnail-section';

/** One target from the performance requirements, with the figure that decides it. */
export interface TargetResult {
  target: string;
  figure: string;
  met: boolean;
}

export interface TargetInputs {
  inputs: BenchInputs;
  thumbnails: ThumbnailInputResult[];
  bundles: BundleSection | undefined;
  memory: { label: string; results: MemoryResult[] }[];
  pipeline: PipelineSection | undefined;
}

const TARGETS = {
  vipsthumbnailSlowdown: 1.3,
  imageMagickSpeedup: 3,
  jimpSpeedup: 20,
  handlerKiB: 150,
  coldInitMs: 50,
  peakMiB: 256,
  pipelineShare: 0.8,
};

/** Returns the median pairwise ratio of a contender's time to the project's on the camera JPEG. */
function ratioOnCamera(results: ThumbnailInputResult | undefined, name: string): number | undefined {
  return results?.results.find((result) => result.contender.name === name)?.ratioToProject.median;
}

/** Evaluates every target the run has figures for. */
export function evaluateTargets({
  inputs,
  thumbnails,
  bundles,
  memory,
  pipeline,
}: TargetInputs): TargetResult[] {
  const targets: TargetResult[] = [];
  const camera = thumbnails.find((result) => result.image === inputs.camera);
  const label = inputs.camera.label;

  const vips = ratioOnCamera(camera, 'vipsthumbnail');
  if (vips !== undefined) {
    const slowdown = 1 / vips;
    targets.push({
      target: `Thumbnail of the ${label} within ${TARGETS.vipsthumbnailSlowdown}x of vipsthumbnail`,
      figure: `project ÷ vipsthumbnail = ${slowdown.toFixed(2)}`,
      met: slowdown <= TARGETS.vipsthumbnailSlowdown,
    });
  }
  const magick = ratioOnCamera(camera, 'ImageMagick convert');
  if (magick !== undefined) {
    targets.push({
      target: `Thumbnail of the ${label} at least ${TARGETS.imageMagickSpeedup}x faster than ImageMagick convert -thumbnail`,
      figure: `ImageMagick ÷ project = ${magick.toFixed(2)}`,
      met: magick >= TARGETS.imageMagickSpeedup,
    });
  }
  const jimp = ratioOnCamera(camera, 'jimp');
  if (jimp !== undefined) {
    targets.push({
      target: `Thumbnail of the ${label} at least ${TARGETS.jimpSpeedup}x faster than jimp`,
      figure: `jimp ÷ project = ${jimp.toFixed(1)}`,
      met: jimp >= TARGETS.jimpSpeedup,
    });
  }

  if (bundles !== undefined) {
    const configured = bundles.sizes.filter((size) => size.variant === bundles.sizes[0]?.variant);
    const largest = Math.max(...configured.map((size) => size.handlerBytes));
    targets.push({
      target: `Each handler bundle at most ${TARGETS.handlerKiB} KiB, sharp aside (as configured)`,
      figure: configured
        .map((size) => `${size.functionKey} ${(size.handlerBytes / 1024).toFixed(0)} KiB`)
        .join(', '),
      met: largest <= TARGETS.handlerKiB * 1024,
    });
    const init = bundles.coldInit.filter((result) => result.variant === bundles.sizes[0]?.variant);
    targets.push({
      target: `Cold initialisation at most ${TARGETS.coldInitMs} ms (as configured)`,
      figure: init
        .map((result) => `${result.functionKey} ${result.requireMs.median.toFixed(0)} ms`)
        .join(', '),
      met: init.every((result) => result.requireMs.median <= TARGETS.coldInitMs),
    });
  }

  const large = memory.find((entry) => entry.label === inputs.largeJpeg.label);
  if (large !== undefined) {
    const functionWork = large.results.filter((result) => result.work !== 'full-decode');
    targets.push({
      target: `Peak resident memory at most ${TARGETS.peakMiB} MiB on the ${inputs.largeJpeg.label}`,
      figure: functionWork.map((result) => `${result.work} ${result.peakMiB.max.toFixed(0)} MiB`).join(', '),
      met: functionWork.every((result) => result.peakMiB.max <= TARGETS.peakMiB),
    });
  }

  const largestRun = pipeline?.runs.reduce((a, b) => (b.count > a.count ? b : a));
  if (largestRun !== undefined) {
    targets.push({
      target: `Local pipeline at least ${TARGETS.pipelineShare * 100}% of the label model's throughput`,
      figure: `${(largestRun.modelShare * 100).toFixed(0)}% at N = ${largestRun.count}`,
      met: largestRun.modelShare >= TARGETS.pipelineShare,
    });
  }
  return targets;
}
