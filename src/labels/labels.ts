import type { Label } from '@aws-sdk/client-rekognition';

/** Position of an object as ratios (0 to 1) of the image's width and height, measured from the top left corner. */
export interface BoundingBox {
  width: number;
  height: number;
  left: number;
  top: number;
}

/** One object, scene or concept that label detection found in an image. */
export interface ImageLabel {
  name: string;
  /** 0 to 100. */
  confidence: number;
  /** Every ancestor label, such as Vehicle and Transportation for Car. */
  parents: string[];
  /** Rekognition's label categories, such as "Vehicles and Automotive". */
  categories: string[];
  /** One entry per located occurrence; empty for scenes, concepts and labels without bounding boxes. */
  instances: Array<{ confidence: number; boundingBox: BoundingBox }>;
}

/** Path of the image to Rekognition: read by Rekognition from S3, or converted here and sent in the request. */
export type LabelImageSource = 's3-object' | 'bytes';

/** Result of label detection on one image. */
export interface LabelDetection {
  /** Sorted by confidence, highest first. */
  labels: ImageLabel[];
  imageSource: LabelImageSource;
  labelModelVersion?: string;
}

/**
 * Converts Rekognition's labels into `ImageLabel`s sorted by confidence, highest first. Labels without a name and
 * instances without a bounding box carry nothing to record, so they are dropped.
 */
export function toImageLabels(labels: readonly Label[] | undefined): ImageLabel[] {
  const imageLabels: ImageLabel[] = [];
  for (const label of labels ?? []) {
    if (label.Name === undefined || label.Name === '') continue;
    imageLabels.push({
      name: label.Name,
      confidence: label.Confidence ?? 0,
      parents: namesOf(label.Parents),
      categories: namesOf(label.Categories),
      instances: (label.Instances ?? []).flatMap((instance) =>
        instance.BoundingBox === undefined
          ? []
          : [
              {
                confidence: instance.Confidence ?? 0,
                boundingBox: {
                  width: instance.BoundingBox.Width ?? 0,
                  height: instance.BoundingBox.Height ?? 0,
                  left: instance.BoundingBox.Left ?? 0,
                  top: instance.BoundingBox.Top ?? 0,
                },
              },
            ],
      ),
    });
  }
  // Array.prototype.sort is stable, so labels of equal confidence keep Rekognition's order.
  return imageLabels.sort((a, b) => b.confidence - a.confidence);
}

function namesOf(items: ReadonlyArray<{ Name?: string | undefined }> | undefined): string[] {
  return (items ?? []).flatMap((item) => (item.Name === undefined || item.Name === '' ? [] : [item.Name]));
}
