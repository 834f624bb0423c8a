/**
 * Reading a secret for a CLI command without it ever being a process argument (CONTRACTS §4:
 * secrets never in argv): from standard input (piped), or typed at a prompt with echo off.
 */
import { createInterface } from 'node:readline';
import { AppError } from '../errors.js';

/** Read all of standard input (piped) and strip one trailing newline. Max 64 KiB. */
export async function readSecretFromStdin(what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > 65_536) throw new AppError('INVALID_INPUT', `${what} on standard input is longer than 64 KiB`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (!text) throw new AppError('INVALID_INPUT', `${what}: nothing was read from standard input`);
  return text;
}

/** Ask on the terminal with echo off; INVALID_INPUT when stdin is not a terminal. */
export async function promptSecret(prompt: string): Promise<string> {
  if (!process.stdin.isTTY)
    throw new AppError(
      'INVALID_INPUT',
      `${prompt}: no terminal to ask on; use --password-file, --password-command or --password-stdin`,
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const out = rl as unknown as { _writeToOutput: (s: string) => void };
  let asked = false;
  out._writeToOutput = (s: string) => {
    if (!asked) {
      process.stderr.write(s);
      asked = true;
    }
  };
  try {
    const answer = await new Promise<string>((resolve) => rl.question(`${prompt}: `, resolve));
    process.stderr.write('\n');
    if (!answer) throw new AppError('INVALID_INPUT', `${prompt}: empty`);
    return answer;
  } finally {
    rl.close();
  }
}
