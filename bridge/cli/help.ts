/**
 * `--help`, the usage lines and the README's command table, all rendered from the definitions the
 * parsers use (definitions.ts).
 */
import {
  COMMAND_DEFINITIONS,
  type CommandDefinition,
  DLQ_SUBCOMMANDS,
  type FlagDefinition,
  GLOBAL_FLAGS,
} from './definitions.js';

function flagSynopsis(name: string, flag: FlagDefinition): string {
  return flag.type === 'boolean' ? `--${name}` : `--${name} ${flag.value ?? 'VALUE'}`;
}

function defaultOf(flag: FlagDefinition): string | undefined {
  if (flag.type === 'boolean') return undefined;
  if (flag.default !== undefined) return String(flag.default);
  return flag.shownDefault;
}

/** `etcd-bridge start [--config FILE] [--etcd URL,...] ...`; a required flag is not bracketed. */
export function usageLine(def: CommandDefinition): string {
  const parts = [`etcd-bridge ${def.name}`];
  if (def.positionals) parts.push(def.positionals);
  for (const [name, flag] of Object.entries(def.flags)) {
    const synopsis = flagSynopsis(name, flag);
    parts.push(flag.shownDefault === 'required' ? synopsis : `[${synopsis}]`);
  }
  return parts.join(' ');
}

function table(rows: ReadonlyArray<readonly [string, string]>, indent = '  '): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`.trimEnd());
}

/** The whole `<command> --help` text. */
export function renderHelp(def: CommandDefinition): string {
  const lines = [`usage: ${usageLine(def)}`, '', def.summary, ''];
  const flags = Object.entries(def.flags);
  if (flags.length > 0) {
    lines.push('flags:');
    lines.push(
      ...table(
        flags.map(([name, flag]) => {
          const shown = defaultOf(flag);
          const short = flag.short ? `-${flag.short}, ` : '';
          return [
            `${short}${flagSynopsis(name, flag)}`,
            `${flag.description}${shown === undefined ? '' : ` (default: ${shown})`}`,
          ] as const;
        }),
      ),
    );
    lines.push('');
  }
  if (def.name.startsWith('dlq ') || def.name === 'dlq') {
    const subs = Object.values(DLQ_SUBCOMMANDS);
    if (def.name === 'dlq') {
      lines.push('subcommands:');
      lines.push(...table(subs.map((sub) => [sub.name.slice(4), sub.summary] as const)));
      lines.push('');
    }
  }
  lines.push('global flags:');
  lines.push(
    ...table(
      Object.entries(GLOBAL_FLAGS).map(([name, flag]) => [flagSynopsis(name, flag), flag.description]),
    ),
  );
  lines.push('');
  if (def.env.length > 0) {
    lines.push('environment:');
    lines.push(...table(def.env.map((env) => [env.name, env.description] as const)));
    lines.push('');
  }
  for (const note of def.notes ?? []) lines.push(note);
  if (def.notes?.length) lines.push('');
  lines.push('example:', `  ${def.example}`);
  return `${lines.join('\n')}\n`;
}

/** `etcd-bridge --help`: one line a command. */
export function topLevelHelp(version: string): string {
  const rows = Object.values(COMMAND_DEFINITIONS).map(
    (def: CommandDefinition) => [def.name, def.brief ?? def.summary] as const,
  );
  return [
    `etcd-bridge ${version}: etcd change events to stage functions, effects committed back exactly once`,
    '',
    'usage: etcd-bridge <command> [flags]',
    '',
    'commands:',
    ...table(rows),
    '',
    '`etcd-bridge <command> --help` shows its flags, defaults, environment and an example.',
    '`etcd-bridge --version` prints the version.',
    '',
  ].join('\n');
}

/**
 * The README's command table (between its `<!-- commands -->` markers): every command and dlq
 * subcommand with each flag, and the environment it reads.
 */
export function readmeCommandTable(): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = [
    ...Object.values(COMMAND_DEFINITIONS).filter((def) => def.name !== 'dlq'),
    ...Object.values(DLQ_SUBCOMMANDS),
  ].map((def: CommandDefinition) => {
    const flags = Object.entries(def.flags)
      .map(([name, flag]) => {
        const shown = defaultOf(flag);
        return `\`${cell(flagSynopsis(name, flag))}\`${shown === undefined ? '' : ` (${cell(shown)})`}`;
      })
      .join(', ');
    const env = def.env.map((e) => `\`${e.name}\``).join(', ');
    return `| \`${def.name}${def.positionals ? ` ${cell(def.positionals)}` : ''}\` | ${cell(def.summary)} | ${flags || '-'} | ${env || '-'} |`;
  });
  return ['| command | what it does | flags (default) | environment |', '|---|---|---|---|', ...rows].join(
    '\n',
  );
}
