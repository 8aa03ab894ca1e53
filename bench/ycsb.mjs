// YCSB core workloads A–F (Cooper et al., "Benchmarking Cloud Serving Systems with YCSB",
// SoCC 2010): the request mix of each, over keys chosen by the paper's zipfian distribution
// (constant 0.99; "scrambled" by an FNV hash so popular keys spread over the key space), or by
// "latest" for D.
const ZIPF_THETA = 0.99;

/** Gray et al.'s zipfian generator over 0..n-1, as YCSB implements it. */
export class Zipfian {
  constructor(n, seed = 12345) {
    this.n = n;
    this.state = seed >>> 0 || 1;
    this.zetan = Zipfian.zeta(n, ZIPF_THETA);
    this.zeta2 = Zipfian.zeta(2, ZIPF_THETA);
    this.alpha = 1 / (1 - ZIPF_THETA);
    this.eta = (1 - (2 / n) ** (1 - ZIPF_THETA)) / (1 - this.zeta2 / this.zetan);
  }

  static zeta(n, theta) {
    let sum = 0;
    for (let i = 1; i <= n; i++) sum += 1 / i ** theta;
    return sum;
  }

  random() {
    // xorshift32: deterministic across engines.
    let s = this.state;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.state = s >>> 0;
    return this.state / 4294967296;
  }

  next() {
    const u = this.random();
    const uz = u * this.zetan;
    if (uz < 1) return 0;
    if (uz < 1 + 0.5 ** ZIPF_THETA) return 1;
    return Math.floor(this.n * (this.eta * u - this.eta + 1) ** this.alpha);
  }

  /** A zipfian rank spread over the key space (YCSB's ScrambledZipfianGenerator). */
  scrambled() {
    let h = 0x811c9dc5;
    let x = this.next();
    for (let i = 0; i < 4; i++) {
      h ^= x & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
      x >>>= 8;
    }
    return h % this.n;
  }
}

/** [read, update, insert, scan, read-modify-write] proportions, and the key distribution. */
export const WORKLOADS = {
  'ycsb-a': { mix: [0.5, 0.5, 0, 0, 0], dist: 'zipfian', what: 'A: 50% read, 50% update' },
  'ycsb-b': { mix: [0.95, 0.05, 0, 0, 0], dist: 'zipfian', what: 'B: 95% read, 5% update' },
  'ycsb-c': { mix: [1, 0, 0, 0, 0], dist: 'zipfian', what: 'C: read only' },
  'ycsb-d': { mix: [0.95, 0, 0.05, 0, 0], dist: 'latest', what: 'D: 95% read (latest), 5% insert' },
  'ycsb-e': { mix: [0, 0, 0.05, 0.95, 0], dist: 'zipfian', what: 'E: 95% short scan, 5% insert' },
  'ycsb-f': { mix: [0.5, 0, 0, 0, 0.5], dist: 'zipfian', what: 'F: 50% read, 50% read-modify-write' },
};
