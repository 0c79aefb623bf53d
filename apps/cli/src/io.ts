/** Where the CLI writes; injected so commands can be tested in-process. */
export interface Io {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}
