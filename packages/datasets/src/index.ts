/**
 * @sculpt/datasets — Real data for sculpt's models: MNIST, Moby-Dick and State-of-the-Union text, synthetic sets, and user folders.
 * @packageDocumentation
 */
export {};
