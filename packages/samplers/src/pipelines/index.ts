export type {
  AsyncSampler,
  Img2ImgAsyncOptions,
  Img2ImgOptions,
  InpaintAsyncOptions,
  InpaintOptions,
  PassThroughOptions,
} from './editing.js';
export { img2img, img2imgAsync, inpaint, inpaintAsync } from './editing.js';
