/**
 * @sculpt/samplers — Diffusion samplers under the names Stable Diffusion users know, sigma schedules, denoiser wrappers, and token samplers.
 * @packageDocumentation
 */
export {};
