/**
 * The notification channel kinds (issue 19), without their config schemas: the command line
 * names them in its help and checks a kind before it loads zod and the schemas
 * (channel-config.ts), which stay off the start-up path of every command.
 */
export const CHANNEL_KINDS = ['webhook', 'ntfy', 'email', 'healthchecks'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** True when `kind` names a channel kind. */
export function isChannelKind(kind: string): kind is ChannelKind {
  return (CHANNEL_KINDS as readonly string[]).includes(kind);
}
