/**
 * Conformance cases: declared once per op, instantiated for every type-constraint
 * binding a backend declares (see kernelKey). Expected values come from the
 * reference kernels.
 */
import type { DType } from '../dtype.js';
import type { AttrValue } from '../ops/schema.js';

export interface CaseInput {
  readonly shape: readonly number[];
  /** Fixed values (row-major); otherwise deterministic pseudo-random values in `range`. */
  readonly values?: readonly number[];
  /** Inclusive range for generated values; default [-3, 3] for signed types, [0, 6] for unsigned, {0,1} for bool, the whole range of int4/uint4/int2/uint2. */
  readonly range?: readonly [number, number];
  /** Generate integers even for float dtypes (e.g. for Floor/Round ties, or exact comparisons). */
  readonly integer?: boolean;
  /** Fixed dtype for this input instead of its constraint's binding (e.g. an int64 `shape` input). */
  readonly dtype?: DType;
}

export interface ConformanceCase {
  readonly op: string;
  /** Short description of what the case covers, e.g. 'broadcast [2,3]x[3]'. */
  readonly name: string;
  /** Inputs in declaration order; null for an omitted optional input. For a variadic input list them all. */
  readonly inputs: readonly (CaseInput | null)[];
  /** Attributes, or a function of the binding (type-constraint name -> dtype), e.g. Cast's `to`. */
  readonly attrs?: Readonly<Record<string, AttrValue>> | ((b: Readonly<Record<string, DType>>) => Record<string, AttrValue>);
  /** Only run for these bindings of the first type constraint (default: all the backend declares). */
  readonly dtypes?: readonly DType[];
  /**
   * Only run for the bindings (type-constraint name -> dtype) this accepts. A key
   * that no case of the op accepts is a combination the op rejects (BitCast between
   * widths): the kit neither runs nor reports it.
   */
  readonly bindings?: (b: Readonly<Record<string, DType>>) => boolean;
  /** Tolerance override: |got - want| <= atol + rtol * |want|. Defaults per dtype in the kit. */
  readonly rtol?: number;
  readonly atol?: number;
  /** How many outputs to compute, optional ones included (default: the required ones), e.g. 2 for MaxPool's Indices. */
  readonly outputs?: number;
  /** The call must fail with INVALID_ARGUMENT (bad-input cases). */
  readonly throws?: boolean;
}
