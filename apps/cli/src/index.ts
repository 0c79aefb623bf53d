export { main, buildProgram, type Io } from './program.ts';
export { CliError, EXIT, type CliErrorCode } from './errors.ts';
