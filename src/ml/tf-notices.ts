/**
 * libtensorflow's start-up notices: lines it writes to stderr once per process as it loads, telling a user nothing.
 * Two of them (absl's and the oneDNN one) are written before TensorFlow reads TF_CPP_MIN_LOG_LEVEL, from native
 * code straight to file descriptor 2, so a process cannot silence them in itself: whoever reads its stderr drops
 * them. Training's child runner (./train/child-runner.ts) and the CLI's commands that load the native backend
 * (src/cli/native-notices.ts) both do, line by line, with {@link createTfNoticeFilter}.
 */

/** A libtensorflow info line (`I0000 00:00:1796545090.900429    6738 FILE.cc:153] TEXT`) of `file`, saying `text`. */
function tensorflowInfoLine(file: string, text: string): RegExp {
  const escape = (value: string): string => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^I\\d{4} \\d\\d:\\d\\d:\\d+\\.\\d+ +\\d+ ${escape(file)}:\\d+\\] ${escape(text)}$`);
}

/** libtensorflow's notice of CPU instructions a rebuild could use: its first line, then its second. */
const CPU_FEATURE_NOTICE = tensorflowInfoLine(
  'cpu_feature_guard.cc',
  'This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations.',
);
const CPU_FEATURE_INSTRUCTIONS = new RegExp(
  '^To enable the following instructions: [A-Z0-9_ ]+, in other operations, ' +
    'rebuild TensorFlow with the appropriate compiler flags\\.$',
);

/**
 * The notices: that it logs to stderr, that oneDNN is on, and which CPU instructions a rebuild could use (two lines;
 * the second is dropped only right after the first). Matched whole, so its other lines, warnings included, stay.
 */
const TF_NOTICES: readonly RegExp[] = [
  /^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$/,
  tensorflowInfoLine(
    'port.cc',
    'oneDNN custom operations are on. You may see slightly different numerical results due to floating-point ' +
      'round-off errors from different computation orders. To turn them off, set the environment variable ' +
      '`TF_ENABLE_ONEDNN_OPTS=0`.',
  ),
  CPU_FEATURE_NOTICE,
];

/**
 * A filter for the lines of one stream, in order: true when a line (without its newline) is one of libtensorflow's
 * start-up notices and should be dropped. It remembers the line before, for the notice that spans two lines.
 */
export function createTfNoticeFilter(): (line: string) => boolean {
  let previous: RegExp | undefined;
  return (line) => {
    const trimmed = line.trimEnd();
    previous =
      TF_NOTICES.find((pattern) => pattern.test(trimmed)) ??
      (previous === CPU_FEATURE_NOTICE && CPU_FEATURE_INSTRUCTIONS.test(trimmed)
        ? CPU_FEATURE_INSTRUCTIONS
        : undefined);
    return previous !== undefined;
  };
}
