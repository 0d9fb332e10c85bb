import manifest from '../../package.json';

/** Product facts read from the manifest at build time, so the CLI and the extension never disagree. */
export const productName = manifest.displayName;
export const productVersion = manifest.version;
export const extensionId = `${manifest.publisher}.${manifest.name}`;
