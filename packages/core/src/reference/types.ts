/**
 * Reference kernels: plain TypeScript, float64 math, written for clarity, not speed.
 * They define expected values for the conformance kit and power the `reference`
 * backend (a pure-TS backend on host memory).
 *
 * A reference kernel receives exactly what a native kernel receives: inputs in
 * declaration order (variadic expanded, null where absent or where the input is a
 * `value` input folded into attrs), attributes after defaults and after the shape
 * rule's extra attrs were merged, and the output metadata computed by core.
 * It returns one flat row-major array of numbers per output; the caller converts
 * them to the output dtype (rounding 16-bit floats, wrapping integers, 0/1 bools).
 */
import type { DType } from '../dtype.js';
import type { AttrValue, OutputMeta } from '../ops/schema.js';

export interface RefTensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Values as JS numbers (int64 beyond 2^53 loses precision; cases keep integers small). */
  readonly data: ArrayLike<number>;
}

export type RefKernel = (
  inputs: readonly (RefTensor | null)[],
  attrs: Readonly<Record<string, AttrValue>>,
  outputs: readonly OutputMeta[],
) => ArrayLike<number>[];
