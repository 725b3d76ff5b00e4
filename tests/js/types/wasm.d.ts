// What a bundler's file loader gives for a .wasm import: its URL (as an app declares it).
declare module "*.wasm" {
  const url: string;
  export default url;
}
