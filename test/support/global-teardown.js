export default async function globalTeardown() {
  await globalThis.__baristaSandbox?.stop();
  globalThis.__baristaSandbox = undefined;
}
