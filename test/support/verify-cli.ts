import { PassThrough } from 'node:stream';
import { run as verifyCli } from '../../src/cli/commands/verify.ts';

export interface CliVerdict { valid: boolean; reason: string | null; type: string | null; holder: { name: string; dob: string } | null }

/** Runs `saufconduit verify` in-process with these arguments; its exit code and last JSON line. */
export async function verifyWithCli(argv: string[]): Promise<{ code: number; result: CliVerdict }> {
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
  let out = '';
  io.stdout.on('data', (c) => (out += c));
  io.stdin.end('');
  const code = await verifyCli(argv, io);
  return { code, result: JSON.parse(out.trim().split('\n').at(-1)!) as CliVerdict };
}
