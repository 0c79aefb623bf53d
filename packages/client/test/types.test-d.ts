import { describe, expectTypeOf, it } from 'vitest';
import {
  createCordon,
  type CordonError,
  type NotFoundError,
  type Cordon,
  type CordonErrorCode,
  type ExecEvent,
  type ExecHandle,
  type ExecResult,
  type HandlerResult,
  type RunResult,
  type Sandbox,
  type Session,
  type SessionRunResult,
  type Terminal,
} from '@cordon/client';

describe('inferred types of the friendly layer', () => {
  it('createCordon → sandbox → run / exec / session / handler', () => {
    expectTypeOf(createCordon).parameter(0).toEqualTypeOf<{
      readonly url: string;
      readonly token: string;
      readonly reconnectDelayMs?: (attempt: number) => number;
      readonly wsIdleCloseMs?: number;
      readonly unavailableAfterMs?: number;
    }>();
    expectTypeOf(createCordon).returns.toEqualTypeOf<Cordon>();
    expectTypeOf<Cordon['sandbox']['fromLocal']>().returns.resolves.toEqualTypeOf<Sandbox>();
    expectTypeOf<Sandbox['run']>().returns.resolves.toEqualTypeOf<RunResult>();
    expectTypeOf<RunResult>().toMatchTypeOf<ExecResult>();
    expectTypeOf<RunResult['stdout']>().toEqualTypeOf<string>();
    expectTypeOf<RunResult['exitCode']>().toEqualTypeOf<number | null>();
    expectTypeOf<RunResult['timedOut']>().toEqualTypeOf<boolean>();
    expectTypeOf<NonNullable<RunResult['commit']>>()
      .toHaveProperty('conflicts')
      .toEqualTypeOf<number>();
    expectTypeOf<RunResult['denials']['count']>().toEqualTypeOf<number>();
    expectTypeOf<Sandbox['exec']>().returns.toEqualTypeOf<ExecHandle>();
    expectTypeOf<ExecHandle>().toMatchTypeOf<AsyncIterable<ExecEvent>>();
    expectTypeOf<ExecHandle['result']>().resolves.toEqualTypeOf<ExecResult>();
    expectTypeOf<ExecHandle['cancel']>().returns.resolves.toBeVoid();
    expectTypeOf<Sandbox['session']>().returns.resolves.toEqualTypeOf<Session>();
    expectTypeOf<Session['run']>().returns.resolves.toEqualTypeOf<SessionRunResult>();
    expectTypeOf<Sandbox['handler']>().returns.resolves.toEqualTypeOf<HandlerResult>();
    expectTypeOf<Sandbox>().toMatchTypeOf<AsyncDisposable>();
  });

  it('terminals: bytes out, typed input, the shell exit as an exec result', () => {
    expectTypeOf<Sandbox['terminal']>().returns.resolves.toEqualTypeOf<Terminal>();
    expectTypeOf<Parameters<Sandbox['terminal']>[0]>()
      .toHaveProperty('cols')
      .toEqualTypeOf<number>();
    expectTypeOf<Terminal['output']>().returns.toMatchTypeOf<AsyncIterable<Buffer>>();
    expectTypeOf<Terminal['write']>().parameter(0).toEqualTypeOf<string | Uint8Array>();
    expectTypeOf<Terminal['resize']>().returns.resolves.toBeVoid();
    expectTypeOf<Terminal['result']>().resolves.toEqualTypeOf<ExecResult>();
    expectTypeOf<Terminal>().toMatchTypeOf<AsyncDisposable>();
  });

  it('options are unit-suffixed and checked', () => {
    type Opts = NonNullable<Parameters<Cordon['sandbox']['fromLocal']>[1]>;
    expectTypeOf<NonNullable<Opts['limits']>>()
      .toHaveProperty('memoryBytes')
      .toEqualTypeOf<number | undefined>();
    expectTypeOf<NonNullable<Opts['limits']>>()
      .toHaveProperty('cpuMillicores')
      .toEqualTypeOf<number | undefined>();
    expectTypeOf<Opts['network']>().toEqualTypeOf<'none' | 'host' | undefined>();
    expectTypeOf<NonNullable<Parameters<Sandbox['run']>[1]>['timeoutMs']>().toEqualTypeOf<
      number | undefined
    >();
  });

  it('live events are a discriminated union', () => {
    expectTypeOf<
      Extract<ExecEvent, { kind: 'stdout' | 'stderr' }>['data']
    >().toEqualTypeOf<Buffer>();
    expectTypeOf<Extract<ExecEvent, { kind: 'gap' }>>().toHaveProperty('fromSeq');
  });

  it('errors are classes with a closed code union', () => {
    expectTypeOf<NotFoundError>().toMatchTypeOf<CordonError>();
    expectTypeOf<CordonError['code']>().toEqualTypeOf<CordonErrorCode>();
    expectTypeOf<'NODE_LOST'>().toMatchTypeOf<CordonErrorCode>();
  });

  it('the raw tRPC client is typed from the gateway router', () => {
    expectTypeOf<Cordon['trpc']['sandboxes']['exec']['mutate']>().returns.resolves.toEqualTypeOf<{
      execId: string;
    }>();
  });
});
