/**
 * The service definitions `rbackup2 service install` writes; pure (paths in, text out).
 *
 * Windows: a WinSW 1.17 XML (https://github.com/winsw/winsw/blob/v1.17/doc/xmlConfigFile.md).
 * WinSW starts `<executable> <arguments>` (the bundled node.exe running `run`), and on a service
 * stop runs `<stopexecutable> <stoparguments>` (the same node.exe running `service stop-agent`,
 * which asks the agent to stop gracefully: stop-channel.ts), then waits for the agent to exit,
 * asking the Service Control Manager for more time meanwhile. The agent bounds its stop itself
 * (client.shutdown_timeout_seconds).
 *
 * Linux: a systemd unit; systemd's stop is SIGTERM, which the agent handles as a graceful stop.
 */

export interface ServicePaths {
  /** The Node.js executable (process.execPath: the bundled node.exe / bin/node). */
  node: string;
  /** app/dist/main.js of the installed package. */
  main: string;
  /** The config file the service runs with (absolute). */
  config: string;
  /** The service's working directory (the config's folder). */
  workDir: string;
  /** Folder for WinSW's own wrapper logs (Windows). */
  logDir: string;
}

/** Escape text for an XML element body (quotes may stay as they are there). */
function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Quote one Windows command-line argument (paths with spaces; no embedded quotes in paths). */
function winArg(s: string): string {
  return /[\s"]/.test(s) ? `"${s.replace(/"/g, '\\"')}"` : s;
}

/** WinSW 1.17 XML for the rbackup2 service (id `rbackup2`, LocalSystem, automatic delayed start). */
export function winswXml(p: ServicePaths): string {
  const base = `--max-semi-space-size=2 ${winArg(p.main)} --config ${winArg(p.config)}`;
  return `<!-- Written by "rbackup2 service install"; remove with "rbackup2 service uninstall". -->
<service>
  <id>rbackup2</id>
  <name>rbackup2 backup agent</name>
  <description>Runs restic backups on schedules kept in PostgreSQL (rbackup2).</description>
  <executable>${xml(p.node)}</executable>
  <arguments>${xml(`${base} run`)}</arguments>
  <!-- The service's stop: ask the agent for a graceful stop (stop-channel), then wait for it to exit. -->
  <stopexecutable>${xml(p.node)}</stopexecutable>
  <stoparguments>${xml(`${base} service stop-agent`)}</stoparguments>
  <!-- WinSW's default wait is 15 s: a graceful stop waits for running backups
       (client.shutdown_timeout_seconds, 120 s by default) plus restic's grace. -->
  <stoptimeout>300 sec</stoptimeout>
  <workingdirectory>${xml(p.workDir)}</workingdirectory>
  <startmode>Automatic</startmode>
  <delayedAutoStart/>
  <onfailure action="restart" delay="30 sec"/>
  <onfailure action="restart" delay="60 sec"/>
  <resetfailure>1 hour</resetfailure>
  <logpath>${xml(p.logDir)}</logpath>
  <log mode="roll-by-size"><sizeThreshold>10240</sizeThreshold><keepFiles>3</keepFiles></log>
</service>
`;
}

/** systemd unit for the rbackup2 service (runs as root, like deploy/rbackup2.service). */
export function systemdUnit(p: ServicePaths): string {
  const q = (s: string) => (/[\s"\\]/.test(s) ? `"${s.replace(/(["\\])/g, '\\$1')}"` : s);
  return `# Written by "rbackup2 service install"; remove with "rbackup2 service uninstall".
[Unit]
Description=rbackup2 backup agent
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=${q(p.node)} --max-semi-space-size=2 ${q(p.main)} --config ${q(p.config)} run
WorkingDirectory=${q(p.workDir)}
# SIGTERM is the agent's graceful stop; it bounds itself by client.shutdown_timeout_seconds.
KillMode=mixed
TimeoutStopSec=infinity
Restart=on-failure
RestartSec=30

[Install]
WantedBy=multi-user.target
`;
}
