/**
 * Issue 19: email channels over TLS, against real SMTP servers (npm `smtp-server`) with a
 * self-signed certificate made here by `openssl req -x509` (node:crypto cannot make X.509
 * certificates): one with implicit TLS (`secure`), one offering STARTTLS (required by the channel
 * unless `allow_plaintext`). The channel trusts the certificate through `tls_ca_file`; without it,
 * or with another CA, the send fails with an error naming the channel. Sends go through
 * `sendNotification`, the function the notifier and "Send test" both use.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChannelConfig, redactConfig } from '../../src/notify/channel-config.js';
import { sendNotification } from '../../src/notify/channels/senders.js';
import type { NotificationPayload } from '../../src/notify/events.js';
import { startSmtpReceiver, type SmtpReceiver } from '../helpers/receivers.js';

const LOGIN = { user: 'mailer', pass: 'tls-mail-secret' };

/** A self-signed certificate for 127.0.0.1/localhost in `dir`: { key, cert, certFile }. */
function selfSigned(dir: string, name: string) {
  const keyFile = path.join(dir, `${name}-key.pem`);
  const certFile = path.join(dir, `${name}-cert.pem`);
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', keyFile, '-out', certFile,
    ], // prettier-ignore
    { stdio: 'pipe' },
  );
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8'), certFile };
}

const payload = (): NotificationPayload => ({
  id: randomUUID(),
  event: 'run.failed',
  time: new Date().toISOString(),
  device_id: 'tls-device',
  device_name: 'TLS laptop',
  job_id: null,
  job_name: null,
  status: 'failed',
  message: 'Backup Docs on TLS laptop failed: test',
  run_id: null,
  link: null,
});

describe('email channels over TLS (implicit and STARTTLS) with a private certificate', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb2-email-tls-'));
  let good: ReturnType<typeof selfSigned>;
  let other: ReturnType<typeof selfSigned>;
  let implicit: SmtpReceiver;
  let starttls: SmtpReceiver;

  beforeAll(async () => {
    good = selfSigned(dir, 'smtp-test');
    other = selfSigned(dir, 'someone-else');
    implicit = await startSmtpReceiver(LOGIN, { key: good.key, cert: good.cert, secure: true });
    starttls = await startSmtpReceiver(LOGIN, { key: good.key, cert: good.cert, secure: false });
  }, 60_000);

  afterAll(async () => {
    await implicit?.close();
    await starttls?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const channel = (name: string, port: number, extra: Record<string, unknown>) => ({
    name,
    kind: 'email',
    config: {
      host: '127.0.0.1',
      port,
      user: LOGIN.user,
      password: LOGIN.pass,
      from: 'backup@example.org',
      to: ['anna@example.org'],
      ...extra,
    },
  });

  it('implicit TLS (secure) with tls_ca_file: delivered over TLS', async () => {
    const p = payload();
    await sendNotification(channel('mail-465', implicit.port, { secure: true, tls_ca_file: good.certFile }), p, 15_000);
    const m = implicit.messages.find((x) => x.header('X-Rbackup2-Id') === p.id);
    expect(m).toMatchObject({ tls: true, user: LOGIN.user, to: ['anna@example.org'] });
  }, 30_000);

  it('STARTTLS with tls_ca_file: delivered after the upgrade (TLS session, then AUTH)', async () => {
    const p = payload();
    await sendNotification(channel('mail-587', starttls.port, { tls_ca_file: good.certFile }), p, 15_000);
    const m = starttls.messages.find((x) => x.header('X-Rbackup2-Id') === p.id);
    expect(m).toMatchObject({ tls: true, user: LOGIN.user });
  }, 30_000);

  it('an untrusted certificate fails with an error naming the channel; nothing is delivered; no secret in it', async () => {
    const before = implicit.messages.length + starttls.messages.length;
    const cases = [
      [channel('family-mail', implicit.port, { secure: true }), /set tls_ca_file/],
      [channel('family-mail', starttls.port, {}), /set tls_ca_file/],
      [channel('family-mail', starttls.port, { tls_ca_file: other.certFile }), /does not chain to tls_ca_file/],
    ] as const;
    for (const [ch, hint] of cases) {
      const err = await sendNotification(ch, payload(), 15_000).then(
        () => null,
        (e: Error) => e,
      );
      expect(err, JSON.stringify(ch.config)).not.toBeNull();
      expect(err!.message).toMatch(/^channel family-mail: the TLS certificate of 127\.0\.0\.1 is not trusted \(.+\)/);
      expect(err!.message).toMatch(hint);
      expect(err!.message).not.toContain(LOGIN.pass);
    }
    expect(implicit.messages.length + starttls.messages.length).toBe(before);
  }, 60_000);

  it('tls_ca_file: validated, a missing file named with the channel, shown (a path, not a secret) in the redacted config', async () => {
    expect(() => parseChannelConfig('email', { ...channel('x', 1, {}).config, tls_ca_file: '' }, 'x')).toThrow(
      /channel x \(email\): config\.tls_ca_file/,
    );
    expect(() => parseChannelConfig('email', { ...channel('x', 1, {}).config, tls_ca_file: 5 }, 'x')).toThrow(
      /config\.tls_ca_file/,
    );
    const missing = path.join(dir, 'nope.pem');
    await expect(
      sendNotification(channel('family-mail', starttls.port, { tls_ca_file: missing }), payload(), 15_000),
    ).rejects.toThrow(`channel family-mail: tls_ca_file ${missing} not readable`);
    const shown = redactConfig('email', channel('x', 1, { tls_ca_file: good.certFile }).config);
    expect(shown).toMatchObject({ tls_ca_file: good.certFile, password: '(set)' });
  }, 30_000);
});
