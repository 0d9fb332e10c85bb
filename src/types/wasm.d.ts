/** WebAssembly modules are bundled as their bytes (esbuild's binary loader; scripts/build.mjs). */
declare module '*.wasm' {
  const bytes: Uint8Array;
  export default bytes;
}

/**
 * The part of the WebAssembly JS API the JSONL kernel uses (Node has it; the ES2022 lib this project compiles
 * against does not declare it).
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: object);
    readonly exports: Record<string, unknown>;
  }
  interface Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  interface Global {
    value: unknown;
  }
}
