/** `fineflow completion bash|zsh|fish`: print a shell completion script (src/cli/completion.ts). */
import { EXIT, UsageError, type CliCommand } from '../command';
import { SHELLS, completionScript, type Shell } from '../completion';
import { closest } from '../../core/spec/suggest';
import { allCommands } from '../registry';

export const command: CliCommand = {
  name: 'completion',
  summary: 'print a bash, zsh or fish completion script for fineflow',
  usage: 'completion bash|zsh|fish',
  description: [
    'Completes command names, sub-commands (schedule apply, dev up, …) and each command’s options;',
    'file names elsewhere. The script is generated from the same definitions the parser uses.',
  ].join('\n'),
  subcommands: SHELLS,
  options: [],
  examples: [
    { command: 'source <(fineflow completion bash)', explanation: 'bash: complete in this shell' },
    {
      command: 'fineflow completion bash > ~/.local/share/bash-completion/completions/fineflow',
      explanation: 'bash: complete in every new shell',
    },
    { command: 'fineflow completion zsh > "${fpath[1]}/_fineflow"', explanation: 'zsh: install into your $fpath' },
    {
      command: 'fineflow completion fish > ~/.config/fish/completions/fineflow.fish',
      explanation: 'fish: install for your user',
    },
  ],
  json: 'the output is a shell script',
  async run(args, io) {
    const [shell, ...extra] = args.positionals;
    if (shell === undefined || extra.length > 0) throw new UsageError(`name one shell: ${SHELLS.join(', ')}`);
    if (!(SHELLS as readonly string[]).includes(shell)) {
      const near = closest(shell, SHELLS);
      throw new UsageError(
        `no completion for '${shell}'${near ? ` (did you mean '${near}'?)` : ''}; shells: ${SHELLS.join(', ')}`,
      );
    }
    io.stdout.write(completionScript(shell as Shell, allCommands()));
    return EXIT.ok;
  },
};
