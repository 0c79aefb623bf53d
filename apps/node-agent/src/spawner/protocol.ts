// Messages between a node agent and its spawner process (JSON over the IPC channel; stdio
// descriptors travel as handles next to `stdio` messages).
import type { SpawnRequest } from './types.ts';

export type SpawnerRequest =
  | {
      readonly type: 'spawn';
      readonly id: number;
      readonly file: string;
      readonly args: readonly string[];
      readonly env: Readonly<Record<string, string>>;
      readonly stdin: SpawnRequest['stdin'];
      /** [fd, base64 data] */
      readonly payloads: readonly (readonly [number, string])[];
    }
  | { readonly type: 'kill'; readonly id: number; readonly signal: NodeJS.Signals };

export type SpawnerMessage =
  | { readonly type: 'started'; readonly id: number; readonly pid: number }
  /** Sent with the descriptor as the message's handle: 0 (stdin, if piped), 1, 2. */
  | { readonly type: 'stdio'; readonly id: number; readonly fd: 0 | 1 | 2 }
  | { readonly type: 'failed'; readonly id: number; readonly message: string }
  | {
      readonly type: 'exit';
      readonly id: number;
      readonly code: number | null;
      readonly signal: NodeJS.Signals | null;
    };
