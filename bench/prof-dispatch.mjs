const mx = await import('@mx/core');
mx.use('cpu');
const a = mx.tensor([1]); const b = mx.tensor([2]);
for (let r = 0; r < 3; r++) {
  const t0 = performance.now();
  for (let i = 0; i < 100000; i++) mx.add(a, b);
  console.log(((performance.now() - t0) * 10).toFixed(3), 'us/call');
  await mx.sync();
}
