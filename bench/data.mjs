// The benchmark's data: N keys `user#` + 8 digits, each with an item of 7 attributes (~150 B as
// JSON). Deterministic, so every engine stores exactly the same data.
export const keyOf = (i) => `user#${String(i).padStart(8, '0')}`;

export function itemOf(i) {
  return {
    name: `User Number ${i}`,
    email: `user${i}@example.com`,
    age: 18 + (i % 60),
    city: ['Oslo', 'Lyon', 'Kyoto', 'Lima', 'Pune'][i % 5],
    active: i % 3 !== 0,
    score: (i * 7919) % 100000,
    plan: i % 4 === 0 ? 'premium' : 'basic',
  };
}

/** A deterministic shuffle of 0..n-1 (xorshift), so every engine sees the same order. */
export function shuffled(n, seed = 42) {
  const a = Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
