import { ANCESTOR_PARENTS, taxonomyFor } from './label-taxonomy';
import type { DetectedObject } from './object-detector';

/** A label in Rekognition's DetectLabels response shape. */
export interface RekognitionLabel {
  Name: string;
  Confidence: number;
  Instances: Array<{
    BoundingBox: { Width: number; Height: number; Left: number; Top: number };
    Confidence: number;
  }>;
  Parents: Array<{ Name: string }>;
  Aliases: Array<{ Name: string }>;
  Categories: Array<{ Name: string }>;
}

/**
 * Builds Rekognition's `Labels` from detected objects: one label per class with an instance per object, plus each
 * ancestor as a label of its own without instances, as Rekognition does (Car also yields Vehicle and
 * Transportation). A label's confidence is its best instance's score x 100; an ancestor takes its best descendant's.
 * Labels under `minConfidence` are dropped, the rest sorted by confidence and cut to `maxLabels`.
 */
export function buildLabels(objects: readonly DetectedObject[], maxLabels: number, minConfidence: number) {
  const labels = new Map<string, RekognitionLabel>();

  for (const object of objects) {
    const taxonomy = taxonomyFor(object.className);
    // Rounded so that a score such as 0.55 reads 55 rather than 55.00000000000001 in records and reports.
    const confidence = Math.round(object.score * 100 * 1000) / 1000;
    const label = labelFor(labels, taxonomy.name, taxonomy.parents, taxonomy.categories, taxonomy.aliases);
    label.Confidence = Math.max(label.Confidence, confidence);
    label.Instances.push({
      BoundingBox: {
        Width: object.box.width,
        Height: object.box.height,
        Left: object.box.left,
        Top: object.box.top,
      },
      Confidence: confidence,
    });

    for (const ancestor of taxonomy.parents) {
      const ancestorLabel = labelFor(
        labels,
        ancestor,
        ANCESTOR_PARENTS[ancestor] ?? [],
        taxonomy.categories,
        [],
      );
      ancestorLabel.Confidence = Math.max(ancestorLabel.Confidence, confidence);
    }
  }

  return [...labels.values()]
    .filter((label) => label.Confidence >= minConfidence)
    .sort(
      // At equal confidence, ancestors come before their descendants, as in Rekognition's responses.
      (a, b) =>
        b.Confidence - a.Confidence || a.Parents.length - b.Parents.length || a.Name.localeCompare(b.Name),
    )
    .slice(0, maxLabels);
}

function labelFor(
  labels: Map<string, RekognitionLabel>,
  name: string,
  parents: readonly string[],
  categories: readonly string[],
  aliases: readonly string[],
): RekognitionLabel {
  let label = labels.get(name);
  if (label === undefined) {
    label = {
      Name: name,
      Confidence: 0,
      Instances: [],
      Parents: parents.map((parent) => ({ Name: parent })),
      Aliases: aliases.map((alias) => ({ Name: alias })),
      Categories: categories.map((category) => ({ Name: category })),
    };
    labels.set(name, label);
  }
  return label;
}
