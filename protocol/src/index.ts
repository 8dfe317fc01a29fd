/** The public surface of @collab/protocol. */
export * from './errors';
export * from './limits';
export * from './canonical-text';
export * from './text-op';
export * from './op-check';
export * from './rope';
export * from './diff';
export * from './sequencer';
export * from './sync-client';
export * from './model';
export * from './events';
export * from './paths';
export * from './validate';
