/**
 * Loads the native addon. napi-rs's generated loader (`binding.js`) tries the binary built next
 * to the package and then the per-platform package (`keystonedb-<platform>`); if both fail we
 * say which platform this is and what was tried, instead of a bare "Cannot find module".
 */
import { join } from 'node:path';
import type * as Binding from '../binding';

export type NativeBinding = typeof Binding;
export type NativeDb = Binding.NativeDb;
/** One table of one handle, read by `readBoundItem` (`crates/keystonedb-node/src/reader.rs`). */
export type TableReader = ReturnType<NativeDb['tableReader']>;

function describe(err: unknown): string[] {
  const lines: string[] = [];
  const walk = (e: unknown): void => {
    if (Array.isArray(e)) e.forEach(walk);
    else if (e instanceof Error) {
      lines.push(e.message.split('\n')[0] ?? '');
      if (e.cause !== undefined) walk(e.cause);
    }
  };
  walk(err);
  return lines;
}

function load(): NativeBinding {
  // dist/src/native.js → the package root holds binding.js and the .node file.
  const loader = join(__dirname, '..', '..', 'binding.js');
  try {
    return require(loader) as NativeBinding;
  } catch (err) {
    const platform = `${process.platform}-${process.arch}`;
    const tried = describe(err)
      .map((l) => `  - ${l}`)
      .join('\n');
    throw new Error(
      `keystonedb: no native binary could be loaded for ${platform} (Node ${process.versions.node}).\n` +
        `Tried the loader ${loader}, the locally built keystonedb.*.node and the package keystonedb-${platform}*:\n${tried}\n` +
        'Reinstall with optional dependencies enabled, or build from source (needs Rust): npm run build.',
      { cause: err },
    );
  }
}

export const native: NativeBinding = load();
