// Placeholder: filled in by the distributions work.
export declare class DiagonalNormal {}
