/**
 * @sculpt/metrics — Numbers that prove a model learned: Fréchet distance, KID, precision/recall, ELBO, bits/dim, perplexity.
 * @packageDocumentation
 */
export {};
