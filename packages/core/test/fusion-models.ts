/** Small models for the fusion tests (onnx-fusion*.test.ts). */
import { f, graph, modelBytes, tensorProto, type NodeSpec } from './onnx-build.js';

/** Deterministic values in [-1, 1). */
export const vals = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (((i + 1) * 7919 * (seed + 3)) % 2000) / 1000 - 1);

/**
 * Conv [2->3 channels, 3x3, pad 1] then BatchNormalization (unless bn: false), then
 * an activation when `act` is given; weights from Constant nodes (folded when planning).
 */
export function convBn(
  opts: {
    dtype?: 'float32' | 'float64';
    bias?: boolean;
    convIsOutput?: boolean;
    bn?: boolean;
    act?: 'Relu' | 'LeakyRelu' | 'Clip';
    /**
     * A residual added to the Conv(+BN) output before the activation: Add or Sum of a
     * [1,3,5,4] constant, Add of a [1,3,1,1] constant (broadcast), or Add of a
     * [1,3,1,1] graph input `res` (broadcast, not a constant).
     */
    residual?: 'Add' | 'Sum' | 'broadcast' | 'broadcast-input';
  } = {},
): Uint8Array {
  const dt = opts.dtype ?? 'float32';
  const c = (name: string, dims: number[], v: number[]): NodeSpec => ({ op: 'Constant', inputs: [], outputs: [name], attrs: { value: { t: tensorProto(name, dt, dims, v) } } });
  const bn = opts.bn !== false;
  const pre = opts.act ? 'pre' : 'y'; // the value the activation reads
  const rdims = opts.residual?.startsWith('broadcast') ? [1, 3, 1, 1] : [1, 3, 5, 4];
  const resInput = opts.residual === 'broadcast-input';
  const residual: NodeSpec[] = !opts.residual
    ? []
    : [
        ...(resInput ? [] : [c('res', rdims, vals(rdims.reduce((a, b) => a * b, 1), 9))]),
        { op: opts.residual === 'Sum' ? 'Sum' : 'Add', inputs: opts.residual === 'Sum' ? ['res', 'r'] : ['r', 'res'], outputs: [pre] },
      ];
  const conv = opts.residual ? 'r' : pre; // the Conv(+BN) output
  const act: NodeSpec[] = !opts.act
    ? []
    : opts.act === 'Clip'
      ? [c('lo', [], [-0.5]), c('hi', [], [0.75]), { op: 'Clip', inputs: [pre, 'lo', 'hi'], outputs: ['y'] }]
      : [{ op: opts.act, inputs: [pre], outputs: ['y'], attrs: opts.act === 'LeakyRelu' ? { alpha: f(0.2) } : {} }];
  return modelBytes(
    graph({
      nodes: [
        c('w', [3, 2, 3, 3], vals(54, 1)),
        ...(opts.bias !== false ? [c('b', [3], [0.5, -0.25, 0.125])] : []),
        { op: 'Conv', inputs: ['x', 'w', ...(opts.bias !== false ? ['b'] : [])], outputs: [bn ? 'c' : conv], attrs: { pads: [1, 1, 1, 1] } },
        ...(bn
          ? [
              c('scale', [3], [1.5, 0.75, -2]),
              c('beta', [3], [0.1, -0.2, 0.3]),
              c('mean', [3], [0.05, -0.4, 0.2]),
              c('var', [3], [0.9, 2.5, 0.01]),
              { op: 'BatchNormalization', inputs: ['c', 'scale', 'beta', 'mean', 'var'], outputs: [conv], attrs: { epsilon: f(1e-3) } },
            ]
          : []),
        ...residual,
        ...act,
      ],
      inputs: [['x', dt, [1, 2, 5, 4]], ...(resInput ? ([['res', dt, rdims]] as [string, typeof dt, number[]][]) : [])],
      outputs: [['y', dt, [1, 3, 5, 4]], ...(opts.convIsOutput ? ([['c', dt, [1, 3, 5, 4]]] as [string, typeof dt, number[]][]) : [])],
    }),
  );
}

/** y = MatMul(x [4,5], w [5,3]) + bias (shape `bshape`), the Add's operands in either order. */
export function matmulAdd(bshape: number[], swap = false, xdims = [4, 5]): Uint8Array {
  return modelBytes(
    graph({
      nodes: [
        { op: 'MatMul', inputs: ['x', 'w'], outputs: ['m'] },
        { op: 'Add', inputs: swap ? ['bias', 'm'] : ['m', 'bias'], outputs: ['y'] },
      ],
      inputs: [['x', 'float32', xdims]],
      outputs: [['y', 'float32']],
      initializers: [tensorProto('w', 'float32', [5, 3], vals(15, 2)), tensorProto('bias', 'float32', bshape, vals(bshape.reduce((a, b) => a * b, 1), 3))],
    }),
  );
}

/**
 * x [1,2,5,4] -> Conv (2->3 channels, 1x1, with bias) or nothing -> BatchNormalization
 * (when bn) -> Mul by `mul` -> Add of `add` (constants of the given shapes) -> Relu
 * (when relu): the BN -> Mul -> Add chains of models converted from Caffe2.
 */
export function affineChain(opts: { conv: boolean; bn: boolean; relu: boolean; mul: number[]; add: number[] }): Uint8Array {
  const ch = opts.conv ? 3 : 2;
  const size = (d: number[]) => d.reduce((a, b) => a * b, 1);
  const nodes: NodeSpec[] = [];
  let v = 'x';
  const next = (op: string, inputs: string[], attrs?: NodeSpec['attrs']) => {
    const out = `v${nodes.length}`;
    nodes.push({ op, inputs: [v, ...inputs], outputs: [out], ...(attrs ? { attrs } : {}) });
    v = out;
  };
  if (opts.conv) next('Conv', ['w', 'b']);
  if (opts.bn) next('BatchNormalization', ['scale', 'beta', 'mean', 'var'], { epsilon: f(1e-3) });
  next('Mul', ['m']);
  next('Add', ['a']);
  if (opts.relu) next('Relu', []);
  nodes[nodes.length - 1]!.outputs = ['y'];
  const init = [
    tensorProto('w', 'float32', [3, 2, 1, 1], vals(6, 4)),
    tensorProto('b', 'float32', [3], [0.25, -0.5, 0.125]),
    tensorProto('scale', 'float32', [ch], vals(ch, 5).map((x) => x + 1.5)),
    tensorProto('beta', 'float32', [ch], vals(ch, 6)),
    tensorProto('mean', 'float32', [ch], vals(ch, 7)),
    tensorProto('var', 'float32', [ch], vals(ch, 8).map((x) => x + 1.25)),
    tensorProto('m', 'float32', opts.mul, vals(size(opts.mul), 9).map((x) => x * 2)),
    tensorProto('a', 'float32', opts.add, vals(size(opts.add), 10)),
  ];
  return modelBytes(graph({ nodes, inputs: [['x', 'float32', [1, 2, 5, 4]]], outputs: [['y', 'float32', [1, ch, 5, 4]]], initializers: init }));
}
