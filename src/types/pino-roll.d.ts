/** Types for pino-roll 4 (it ships none): an async factory of a rotating SonicBoom file stream. */
declare module 'pino-roll' {
  import type { DestinationStream } from 'pino';
  import type { EventEmitter } from 'node:events';

  export interface PinoRollOptions {
    file: string | (() => string);
    size?: string | number;
    frequency?: 'daily' | 'hourly' | number;
    extension?: string;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
    mkdir?: boolean;
    dateFormat?: string;
    symlink?: boolean;
  }

  export type RollingStream = DestinationStream & EventEmitter & { end(): void };

  export default function pinoRoll(options: PinoRollOptions): Promise<RollingStream>;
}
