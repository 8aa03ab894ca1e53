// The package's type declarations: those of the compiled public surface, index.ts.
export * from './dist/index';
