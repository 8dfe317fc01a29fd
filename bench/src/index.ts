/** The public surface of @collab/bench: the load tool as a library. */
export * from './api';
export * from './bench-client';
export * from './bench-doc';
export * from './convergence';
export * from './latency';
export * from './proc';
export * from './profile';
export * from './report';
export * from './rng';
export * from './run-env';
export * from './servers';
export * from './stats';
export * from './world';
export { runTyping, type TypingOptions } from './scenarios/typing';
export { runHotFile, type HotFileOptions } from './scenarios/hot-file';
export { runIdle, type IdleOptions } from './scenarios/idle';
export { runJoinStorm, type JoinStormOptions } from './scenarios/join-storm';
