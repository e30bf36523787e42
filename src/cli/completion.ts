/**
 * Shell completion scripts for `fineflow`, generated from the command definitions themselves
 * (names, sub-commands, options), so completion cannot drift from the parser. The scripts are
 * static: pressing Tab never starts Node. Pure: definitions in, script text out.
 */
import type { CliCommand, OptionSpec } from './command';
import { COMMON_OPTIONS } from './command';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What completion needs of a command. */
interface CompletionCommand {
  readonly name: string;
  readonly summary: string;
  readonly subcommands: readonly string[];
  readonly options: readonly OptionSpec[];
}

function completionCommands(commands: readonly CliCommand[]): CompletionCommand[] {
  return commands.map((c) => ({
    name: c.name,
    summary: c.summary,
    subcommands: c.subcommands ?? [],
    // Deprecated names still parse but are not offered; `--json` only where the command has it.
    options: [...c.options, ...COMMON_OPTIONS.filter((o) => o.name !== 'json' || c.json === true)],
  }));
}

/** Single-quote for bash, zsh and fish alike (none of our words contain a quote, but descriptions might). */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function bashScript(commands: readonly CompletionCommand[]): string {
  const cases = commands.map((c) => {
    const options = c.options.flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]);
    const valued = c.options
      .filter((o) => o.kind !== 'boolean')
      .flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]);
    return [
      `    ${c.name})`,
      `      options=${shellQuote(options.join(' '))}`,
      `      valued=${shellQuote(valued.join(' '))}`,
      `      subcommands=${shellQuote(c.subcommands.join(' '))}`,
      '      ;;',
    ].join('\n');
  });
  return `# fineflow completion for bash. Load it in this shell:  source <(fineflow completion bash)
# or install it:  fineflow completion bash > ~/.local/share/bash-completion/completions/fineflow
_fineflow() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local commands=${shellQuote(commands.map((c) => c.name).join(' '))}
  COMPREPLY=()
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "$commands help --help --version" -- "$cur"))
    return 0
  fi
  local command="\${COMP_WORDS[1]}" options='' valued='' subcommands=''
  case "$command" in
    help)
      [[ $COMP_CWORD -eq 2 ]] && COMPREPLY=($(compgen -W "$commands" -- "$cur"))
      return 0
      ;;
${cases.join('\n')}
    *) return 0 ;;
  esac
  # The word after an option that takes a value: leave it to the default (file) completion.
  if [[ " $valued " == *" $prev "* ]]; then
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  elif [[ -n "$subcommands" && $COMP_CWORD -eq 2 ]]; then
    COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
  fi
  return 0
}
complete -o default -F _fineflow fineflow
`;
}

/** `_arguments` specs for one option, e.g. `*--set=[override a param]:NAME=VALUE:_files` (repeatable, a value). */
function zshOptionSpecs(o: OptionSpec): string[] {
  const description = `[${o.description.replace(/[[\]:\\]/g, (c) => `\\${c}`)}]`;
  const value = o.kind === 'boolean' ? '' : `:${(o.valueName ?? 'value').replace(/:/g, '\\:')}:_files`;
  const repeat = o.kind === 'multi' ? '*' : '';
  const long = `${repeat}--${o.name}${o.kind === 'boolean' ? '' : '='}${description}${value}`;
  const short = o.short ? [`${repeat}-${o.short}${description}${value}`] : [];
  return [long, ...short].map(shellQuote);
}

function zshScript(commands: readonly CompletionCommand[]): string {
  const describe = commands.map((c) => `    ${shellQuote(`${c.name}:${c.summary.replace(/:/g, '\\:')}`)}`);
  const cases = commands.map((c) => {
    const specs = c.options.flatMap(zshOptionSpecs);
    if (c.subcommands.length > 0) specs.push(shellQuote(`1:subcommand:(${c.subcommands.join(' ')})`));
    specs.push(shellQuote('*:file:_files'));
    return `    ${c.name})\n      _arguments -s \\\n        ${specs.join(' \\\n        ')}\n      ;;`;
  });
  return `#compdef fineflow
# fineflow completion for zsh. Load it in this shell:  source <(fineflow completion zsh)
# or install it as _fineflow in a directory of your $fpath.
_fineflow() {
  local -a commands
  commands=(
${describe.join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'fineflow command' commands
    return
  fi
  local command=\${words[2]}
  shift words
  (( CURRENT-- ))
  case $command in
    help)
      _describe -t commands 'fineflow command' commands
      ;;
${cases.join('\n')}
  esac
}
compdef _fineflow fineflow
`;
}

function fishScript(commands: readonly CompletionCommand[]): string {
  const lines = [
    '# fineflow completion for fish. Load it in this shell:  fineflow completion fish | source',
    '# or install it:  fineflow completion fish > ~/.config/fish/completions/fineflow.fish',
    'complete -c fineflow -e',
  ];
  const all = commands.map((c) => c.name).join(' ');
  for (const c of commands) {
    lines.push(`complete -c fineflow -n __fish_use_subcommand -f -a ${c.name} -d ${shellQuote(c.summary)}`);
  }
  lines.push(`complete -c fineflow -n '__fish_seen_subcommand_from help' -f -a ${shellQuote(all)}`);
  for (const c of commands) {
    const when = shellQuote(`__fish_seen_subcommand_from ${c.name}`);
    if (c.subcommands.length > 0) {
      lines.push(`complete -c fineflow -n ${when} -f -a ${shellQuote(c.subcommands.join(' '))}`);
    }
    for (const o of c.options) {
      const short = o.short ? ` -s ${o.short}` : '';
      const value = o.kind === 'boolean' ? '' : ' -r';
      lines.push(`complete -c fineflow -n ${when} -l ${o.name}${short}${value} -d ${shellQuote(o.description)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The completion script for `shell`, covering every command given. */
export function completionScript(shell: Shell, commands: readonly CliCommand[]): string {
  const specs = completionCommands(commands);
  switch (shell) {
    case 'bash':
      return bashScript(specs);
    case 'zsh':
      return zshScript(specs);
    case 'fish':
      return fishScript(specs);
  }
}
