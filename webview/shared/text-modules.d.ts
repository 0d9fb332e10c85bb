/** esbuild bundles .css imports as text (scripts/build.mjs); panels apply it with a constructable stylesheet. */
declare module '*.css' {
  const text: string;
  export default text;
}
