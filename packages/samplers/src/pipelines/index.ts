export type { Img2ImgOptions, InpaintOptions, PassThroughOptions } from './editing.js';
export { img2img, inpaint } from './editing.js';
