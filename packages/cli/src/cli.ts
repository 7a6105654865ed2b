// The `sculpt` command line: commander wires flags to the commands; every
// failure ends as one line and a status (0 ok, 1 bug, 2 bad input, 130 Ctrl-C).
import * as tf from '@tensorflow/tfjs-core';
import { Command, CommanderError, Option } from 'commander';
import pkg from '../package.json';
import { BACKEND_CHOICES, parseBackend } from './backend.js';
import { benchCommand } from './commands/bench.js';
import { DEMO, demoCommand } from './commands/demo.js';
import { evalCommand } from './commands/eval.js';
import { exportCommand } from './commands/export.js';
import { generateCommand } from './commands/generate.js';
import { sampleCommand } from './commands/sample.js';
import { samplersCommand } from './commands/samplers.js';
import { trainCommand } from './commands/train.js';
import { parseDirection, translateCommand } from './commands/translate.js';
import { completionFor } from './completion.js';
import { DATA_FORMS } from './data.js';
import { describeFailure, EXIT } from './errors.js';
import { FAMILIES } from './families/index.js';
import { type CliIo, processIo, withMode } from './io.js';
import { intInRange, numberInRange, parseLabels } from './options.js';
import { type OutputMode, outputMode } from './report.js';

// The published version, inlined at build time (`changeset version` bumps it in package.json).
const VERSION: string = pkg.version;

function familiesHelp(): string {
  return FAMILIES.map(
    (f) =>
      `  ${f.name.padEnd(10)} ${f.description}\n${' '.repeat(13)}presets: ${f.presets.map((p) => p.name).join(', ')} (default ${f.defaultPreset}); data: ${f.defaultData} by default`,
  ).join('\n');
}

const backendOption = () =>
  new Option('--backend <name>', `tfjs backend: ${BACKEND_CHOICES.join(', ')}`)
    .default('auto')
    .argParser(parseBackend);

function samplingOptions(cmd: Command): Command {
  return cmd
    .option('--sampler <name>', "diffusion sampler (see 'sculpt samplers'); default: the family's")
    .option('--steps <n>', 'sampler steps', intInRange('--steps', 1, 1000))
    .option(
      '--guidance <scale>',
      'classifier-free guidance scale (conditional models)',
      numberInRange('--guidance', 0, 100),
    )
    .option(
      '--truncation <psi>',
      'truncation ψ in [0, 1] of a style GAN (1 = off, 0 = the mean image)',
      numberInRange('--truncation', 0, 1),
    )
    .option('--seed <n>', 'seed of the initial noise', intInRange('--seed', 0, 2 ** 31 - 1));
}

/**
 * Builds the commander program. `setStatus` receives each command's exit status.
 *
 * @param io - streams and SIGINT the commands use.
 * @param setStatus - called with each command's exit status.
 * @returns the program (not yet parsed; errors are thrown, not exited: `exitOverride`).
 * @example
 * ```ts
 * let status = 0;
 * await buildProgram(processIo(), (s) => { status = s; }).parseAsync(['samplers'], { from: 'user' });
 * ```
 */
export function buildProgram(io: CliIo, setStatus: (status: number) => void): Command {
  const program = new Command('sculpt')
    .description("Train, sample and evaluate sculpt's generative models on bundled data.")
    .version(VERSION)
    .option('--json', 'print one JSON object per line on stdout (schema: the README)')
    .option('-q, --quiet', 'print only errors (and the data a command exists to print)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .addHelpText('after', `\nFamilies:\n${familiesHelp()}\n\nStart with: sculpt demo`);
  // Each command runs with the reporter its --json / --quiet ask for, and ends with a `done` event.
  let scoped = io;
  let status: number = EXIT.ok;
  let started = 0;
  const ctx = () => scoped;
  const report = (s: number) => {
    status = s;
    setStatus(s);
  };
  program.hook('preAction', (_root, action) => {
    scoped = withMode(io, outputMode(action.optsWithGlobals()));
    started = performance.now();
  });
  program.hook('postAction', (_root, action) => {
    const seconds = Number(((performance.now() - started) / 1000).toFixed(3));
    scoped.report.emit({ event: 'done', command: action.name(), status, seconds });
  });

  program
    .command('train')
    .description(
      'train a model family on a data set, with progress, log, plots, samples and checkpoints',
    )
    .argument('<family>', `model family: ${FAMILIES.map((f) => f.name).join(', ')}`)
    .option('--preset <name>', "model size (see 'sculpt --help')")
    .option('--data <source>', `training data: ${DATA_FORMS}`)
    .option(
      '--steps <n>',
      'total training steps (default 1000)',
      intInRange('--steps', 1, 10_000_000),
    )
    .option(
      '--minutes <m>',
      'train for this many minutes instead of a step count',
      numberInRange('--minutes', 0, 100_000, true),
    )
    .option(
      '--batch <n>',
      "examples per step (default: the preset's)",
      intInRange('--batch', 1, 4096),
    )
    .option('--out <dir>', 'run folder (default runs/<family>-<preset>)')
    .option('--resume', 'continue the checkpoint in --out exactly where it stopped')
    .addOption(backendOption())
    .option(
      '--seed <n>',
      'seed of initialisation, batches and noise (default 0)',
      intInRange('--seed', 0, 2 ** 31 - 1),
    )
    .option(
      '--sample-every <n>',
      "write a sample grid every n steps (0 = only at the end; default 500, or the resumed run's)",
      intInRange('--sample-every', 0, 10_000_000),
    )
    .option(
      '--checkpoint-every <n>',
      "save a checkpoint every n steps (0 = only at the end; default 200, or the resumed run's)",
      intInRange('--checkpoint-every', 0, 10_000_000),
    )
    .action(async (family: string, o) => {
      const outcome = await trainCommand(family, { ...o, resume: Boolean(o.resume) }, ctx());
      report(outcome.status);
    });

  samplingOptions(
    program
      .command('sample')
      .description('write a grid of samples from a checkpoint')
      .argument('<checkpoint>', "a run folder of 'sculpt train' (or its checkpoint/ folder)"),
  )
    .option(
      '--labels <list>',
      'class labels: 3,3,7 or 0-9 or all (conditional models)',
      parseLabels,
    )
    .option('--n <count>', 'number of samples', intInRange('--n', 1, 10_000))
    .option('--prompt <text>', 'text prompt of a text-to-image model, e.g. "a thick seven"')
    .option('--out <file>', 'PNG to write (default <run>/sample.png)')
    .addOption(backendOption())
    .action(async (checkpoint: string, o) => {
      await sampleCommand(checkpoint, o, ctx());
      report(EXIT.ok);
    });

  samplingOptions(
    program
      .command('eval')
      .description(
        "score a checkpoint with its family's metrics (images: FD, KID, precision/recall, class accuracy; text: nats/char) and print JSON",
      )
      .argument('<checkpoint>', "a run folder of 'sculpt train' (or its checkpoint/ folder)"),
  )
    .option('--n <count>', 'number of samples to measure', intInRange('--n', 10, 10_000), 500)
    .option('--out <file>', 'JSON file to write (default <run>/metrics.json)')
    .addOption(backendOption())
    .action(async (checkpoint: string, o) => {
      await evalCommand(checkpoint, o, ctx());
      report(EXIT.ok);
    });

  program
    .command('translate')
    .description(
      'translate images with an image-to-image checkpoint (gan --preset cyclegan-digits): a PNG grid, inputs over outputs',
    )
    .argument('<checkpoint>', "a run folder of 'sculpt train' (or its checkpoint/ folder)")
    .option(
      '--in <source>',
      'mnist (held-out digits; their thick inverted form for BtoA) or a folder of PNGs',
      'mnist',
    )
    .option('--direction <d>', 'AtoB or BtoA', parseDirection, 'AtoB')
    .option(
      '--n <count>',
      'images to translate (evenly spaced through the set)',
      intInRange('--n', 1, 10_000),
      20,
    )
    .option('--out <dir>', 'folder to write into (default <run>/translate)')
    .addOption(backendOption())
    .action(async (checkpoint: string, o) => {
      await translateCommand(checkpoint, o, ctx());
      report(EXIT.ok);
    });

  program
    .command('export')
    .description(
      "write a GAN run's generator alone (EMA weights + config; no discriminator, no optimizer state) for a web page: load it with GanGenerator.fromUrl",
    )
    .argument('<checkpoint>', "a run folder of 'sculpt train' (or its checkpoint/ folder)")
    .option('--out <file>', 'file to write (default <run>/generator.safetensors)')
    .addOption(backendOption())
    .action(async (checkpoint: string, o) => {
      await exportCommand(checkpoint, o, ctx());
      report(EXIT.ok);
    });

  program
    .command('generate')
    .description('stream text from a checkpoint of a text model to stdout')
    .argument('<checkpoint>', "a run folder of 'sculpt train' (or its checkpoint/ folder)")
    .option('--prompt <text>', 'the text to continue', '')
    .option(
      '--max-tokens <n>',
      'new tokens to generate',
      intInRange('--max-tokens', 0, 1_000_000),
      200,
    )
    .option(
      '--temperature <t>',
      'softmax temperature (0 = greedy)',
      numberInRange('--temperature', 0, 100),
    )
    .option('--top-k <k>', 'keep the k most likely tokens', intInRange('--top-k', 1, 1_000_000))
    .option(
      '--top-p <p>',
      'nucleus: keep this much probability mass',
      numberInRange('--top-p', 0, 1, true),
    )
    .option(
      '--min-p <p>',
      'keep tokens at least p times as likely as the most likely one',
      numberInRange('--min-p', 0, 1, true),
    )
    .option(
      '--repetition-penalty <θ>',
      'divide the logits of tokens already present by θ (1 = off; 1.1–1.3 is typical)',
      numberInRange('--repetition-penalty', 0, 100, true),
    )
    .option('--stop <text...>', 'stop at any of these strings')
    .option('--seed <n>', 'seed of the token draws', intInRange('--seed', 0, 2 ** 31 - 1))
    .addOption(backendOption())
    .action(async (checkpoint: string, o) => {
      await generateCommand(checkpoint, o, ctx());
      report(EXIT.ok);
    });

  program
    .command('samplers')
    .description('list the diffusion samplers')
    .action(() => {
      samplersCommand(ctx());
      report(EXIT.ok);
    });

  program
    .command('bench')
    .description("time training steps and sampling of a family's preset; prints JSON")
    .argument('[family]', 'model family', 'diffusion')
    .option('--preset <name>', 'model size')
    .option('--steps <n>', 'training steps to time', intInRange('--steps', 1, 100_000), 10)
    .option('--batch <n>', 'examples per step', intInRange('--batch', 1, 4096))
    .option('--sampler <name>', 'sampler to time')
    .option('--sampler-steps <n>', 'sampler steps', intInRange('--sampler-steps', 1, 1000))
    .option('--n <count>', 'samples to draw', intInRange('--n', 1, 10_000), 16)
    .addOption(backendOption())
    .action(async (family: string, o) => {
      await benchCommand(family, o, ctx());
      report(EXIT.ok);
    });

  program
    .command('demo')
    .description(
      'train a class-conditional diffusion model on MNIST for a few minutes, then sample and measure it',
    )
    .option(
      '--minutes <m>',
      'training time',
      numberInRange('--minutes', 0, 100_000, true),
      DEMO.minutes,
    )
    .option('--out <dir>', 'where to write everything', 'demo-output')
    .option('--preset <name>', 'diffusion preset', DEMO.preset)
    .option(
      '--samples <n>',
      'samples to draw and measure (a multiple of 10 fills the grid)',
      intInRange('--samples', 10, 10_000),
      DEMO.samples,
    )
    .option('--overwrite', 'replace an earlier demo in --out')
    .option('--seed <n>', 'seed', intInRange('--seed', 0, 2 ** 31 - 1), 0)
    .addOption(backendOption())
    .action(async (o) => {
      const outcome = await demoCommand({ ...o, overwrite: Boolean(o.overwrite) }, ctx());
      report(outcome.status);
    });

  completionFor(program);
  for (const cmd of [program, ...program.commands]) configureOutput(cmd, io);
  return program;
}

/** Commander's own errors (unknown option, bad number, …) as one line pointing at the command's help. */
function configureOutput(cmd: Command, io: CliIo): void {
  const name = cmd.parent ? `sculpt ${cmd.name()}` : 'sculpt';
  cmd.configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
    outputError: (s, write) =>
      write(
        `${name}: ${s
          .replace(/^error: /, '')
          .replace(/\s*\n\s*/g, ' ')
          .trim()} Fix: see '${name} --help'.\n`,
      ),
  });
}

/**
 * With `SCULPT_REPORT_TENSORS=1`, says how many tfjs tensors are still alive
 * when a command has finished (0 when nothing leaked): a diagnostic for leak hunts.
 */
function reportLiveTensors(io: CliIo): void {
  if (process.env.SCULPT_REPORT_TENSORS !== '1') return;
  io.stderr.write(`sculpt: ${tf.memory().numTensors} live tensors\n`);
}

/** The output mode `argv` asks for, read before parsing so that a parse error is reported in it too. */
function modeOf(argv: readonly string[]): OutputMode {
  const end = argv.indexOf('--');
  const flags = end === -1 ? argv : argv.slice(0, end);
  return outputMode({
    json: flags.includes('--json'),
    quiet: flags.includes('--quiet') || flags.includes('-q'),
  });
}

/** Under `--json`, a failure is also an `error` event on stdout (the one line on stderr stays). */
function jsonError(io: CliIo, mode: OutputMode, message: string, status: number): void {
  if (mode !== 'json') return;
  io.stdout.write(`${JSON.stringify({ event: 'error', message: message.trim(), status })}\n`);
}

/**
 * Runs the `sculpt` command line.
 *
 * @param argv - the arguments after the program name, e.g. `['train', 'diffusion', '--steps', '100']`.
 * @param io - streams and SIGINT (default: the process's).
 * @returns the exit status: 0 done, 1 a bug in sculpt, 2 bad input (one line on stderr), 130 interrupted after saving.
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2));
 * ```
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let status: number = EXIT.ok;
  const mode = modeOf(argv);
  const program = buildProgram(io, (s) => {
    status = s;
  });
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.usage;
    }
    await program.parseAsync([...argv], { from: 'user' });
    reportLiveTensors(io);
    return status;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end here too; commander already printed the message.
      if (error.exitCode === 0) return EXIT.ok;
      jsonError(io, mode, error.message.replace(/^error: /, ''), EXIT.usage);
      return EXIT.usage;
    }
    const { line, status: s } = describeFailure(error, Boolean(process.env.SCULPT_DEBUG));
    io.stderr.write(`${line}\n`);
    jsonError(io, mode, line, s);
    return s;
  }
}
