/** The public surface of @collab/client. */
export * from './connection';
export * from './file-sync';
export * from './headless';
