// Starting sandbox processes: in a spawner process of the node agent's (remote.ts, what the agent
// uses) or in this process (local.ts, for tools and tests).
export { LocalSpawner } from './local.ts';
export { RemoteSpawner, type RemoteSpawnerOptions } from './remote.ts';
export type { ProcessExit, SandboxProcess, SpawnRequest, Spawner } from './types.ts';
