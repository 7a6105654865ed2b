/**
 * @sculpt/datasets — Real data for sculpt's models: MNIST, Moby-Dick and State-of-the-Union text, synthetic sets, and user folders.
 * @packageDocumentation
 */

export type {
  BatchIndexOptions,
  Binarize,
  ImageBatch,
  ImageBatchOptions,
  ImageSet,
  ImageTensorOptions,
  PixelRange,
} from './image-set.js';
// --- image sets ---
export {
  imageBatches,
  imageSetTensors,
  makeImageSet,
  shuffledBatchIndices,
  subsetImages,
} from './image-set.js';
export type {
  CaptionAttributes,
  CaptionBins,
  ParsedCaption,
} from './mnist/caption-builder.js';
export {
  CAPTION_TEMPLATES,
  CAPTION_WORDS,
  captionAttributes,
  captionBins,
  captionImageSet,
  DIGIT_WORDS,
  digitCaption,
  parseCaption,
} from './mnist/caption-builder.js';
export type { DigitMeasures } from './mnist/captions.js';
export { measureDigit, measureImageSet } from './mnist/captions.js';
export type { Mnist, MnistSource } from './mnist/mnist.js';
// --- mnist ---
export {
  loadMnist,
  loadMnistDigits,
  MNIST_HELD_OUT_PER_CLASS,
  packMnist,
  splitMnist,
  unpackMnist,
} from './mnist/mnist.js';
export type { MixtureComponent, PointSet } from './synthetic/points.js';
// --- synthetic ---
export { gaussianMixture2d, ringMixture, swissRoll, twoMoons } from './synthetic/points.js';
export { SHAPE_CLASSES, shapeImages } from './synthetic/shapes.js';
export type { UnpairedDomains } from './synthetic/unpaired.js';
export { styleTransform, unpairedDigitDomains } from './synthetic/unpaired.js';
export type { TextCorpus, TextWindowOptions } from './text/corpora.js';
export {
  loadMobyDick,
  loadSotu,
  MOBY_DICK_HELD_OUT_CHAPTERS,
  textWindows,
  textWindowsArray,
} from './text/corpora.js';
export type { Vocab } from './text/vocab.js';
// --- text ---
export { byteVocab, charVocab } from './text/vocab.js';
export type { DecodedImage, ImageFolderOptions } from './user/images.js';
// --- user data ---
export { decodePngImage, loadImageFolder, loadTextFile } from './user/images.js';
